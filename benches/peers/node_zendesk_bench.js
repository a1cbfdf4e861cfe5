#!/usr/bin/env node
// node-zendesk's side of deskbridge's peer benchmark (see README.md).
//
// Against a Zendesk base URL (the standalone simulator), with node-zendesk as a Node.js
// developer would use it:
//
// 1. list every agent and admin and every group membership, then join them (agent ->
//    group ids). Memberships: `client.groupmemberships.list()`. Users: node-zendesk's
//    `users.listWithFilter('role', ['agent', 'admin'])` would send `role=agent%2Cadmin`,
//    which Zendesk does not read as two roles, so the same listing goes through the
//    client's own paginator with the documented query: `client.users.getAll(['users',
//    '?role[]=agent&role[]=admin'])`. Both add `page[size]=100` and follow `links.next`
//    (cursor pagination) by themselves.
// 2. set the Talk availability of the first `--writes` agents (`agent_state`
//    online/offline alternating) with `client.availabilities.update(id, {availability})`,
//    at most `--concurrency` promises in flight (Node's natural way to parallelise).
//
// Pointing it at the simulator: `endpointUri` replaces node-zendesk's
// `https://{subdomain}.zendesk.com/api/v2` for EVERY API family, so the voice (Talk)
// family, whose endpoint is `.../api/v2/channels/voice`, needs a second client created
// with that endpointUri.
//
// Prints ONE JSON line with the same fields as examples/bench_zendesk_peers.rs.
// Exit 0 on success, 1 when a listing failed / came back short / a write failed, 2 on usage.

'use strict';

const zendesk = require('node-zendesk');
const nodeZendeskVersion = JSON.parse(require('node:fs').readFileSync(
  require('node:path').join(__dirname, 'node_modules', 'node-zendesk', 'package.json'), 'utf8',
)).version;

function parseArgs(argv) {
  const options = {
    baseUrl: process.env.ZENDESK_BASE_URL,
    email: process.env.ZENDESK_EMAIL,
    apiToken: process.env.ZENDESK_API_TOKEN,
    writes: 3000,
    concurrency: 8,
    expectAgents: null,
    listOnly: false,
  };
  const number = (flag, value) => {
    const parsed = Number.parseInt(value, 10);
    if (!Number.isFinite(parsed) || parsed < 0) usage(`${flag}: \`${value}\` is not a valid number`);
    return parsed;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (flag) {
      case '--base-url': options.baseUrl = next(); break;
      case '--email': options.email = next(); break;
      case '--api-token': options.apiToken = next(); break;
      case '--writes': options.writes = number(flag, next()); break;
      case '--concurrency': options.concurrency = number(flag, next()); break;
      case '--expect-agents': options.expectAgents = number(flag, next()); break;
      case '--list-only': options.listOnly = true; break;
      case '-h': case '--help':
        process.stdout.write('usage: node_zendesk_bench.js --base-url URL --email E --api-token T '
          + '[--writes N] [--concurrency N] [--expect-agents N] [--list-only]\n');
        process.exit(0);
        break;
      default: usage(`unknown argument \`${flag}\``);
    }
  }
  if (!options.baseUrl || !options.email || !options.apiToken) {
    usage('--base-url, --email and --api-token (or ZENDESK_*) are required');
  }
  if (options.concurrency < 1) usage('--concurrency must be at least 1');
  return options;
}

function usage(message) {
  process.stderr.write(`node_zendesk_bench: ${message}\n`);
  process.exit(2);
}

// Peak RSS: sampled, since Node has no high-water mark of its own; the driver also
// measures every client's peak the same way from outside (/usr/bin/time).
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 5);

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const base = options.baseUrl.replace(/\/+$/, '');
  const auth = { username: options.email, token: options.apiToken };
  const client = zendesk.createClient({ ...auth, endpointUri: `${base}/api/v2` });
  const voice = zendesk.createClient({ ...auth, endpointUri: `${base}/api/v2/channels/voice` });

  const started = performance.now();
  let error = null;
  let agents = [];
  let memberships = [];
  try {
    agents = await client.users.getAll(['users', '?role[]=agent&role[]=admin']);
    memberships = await client.groupmemberships.list();
  } catch (exc) {
    error = String(exc && exc.message ? exc.message : exc);
  }
  // A throttled page can come back as an Error object inside the "successful" result.
  const isUser = (item) => item && typeof item === 'object' && !(item instanceof Error) && 'id' in item;
  const errorsInside = [...agents, ...memberships].filter((item) => item instanceof Error).length;
  agents = agents.filter(isUser);
  memberships = memberships.filter(isUser);
  const groupsOf = new Map(agents.map((agent) => [agent.id, []]));
  let joined = 0;
  for (const membership of memberships) {
    const groups = groupsOf.get(membership.user_id);
    if (groups) {
      groups.push(membership.group_id);
      joined += 1;
    }
  }
  const listMs = performance.now() - started;

  const writeStarted = performance.now();
  let writesOk = 0;
  let writesFailed = 0;
  let firstWriteError = null;
  if (!options.listOnly && error === null) {
    const targets = agents.slice(0, options.writes).map((agent, index) => [index, agent.id]);
    let nextTarget = 0;
    const worker = async () => {
      while (nextTarget < targets.length) {
        const [index, agentId] = targets[nextTarget];
        nextTarget += 1;
        const state = index % 2 === 0 ? 'online' : 'offline';
        try {
          await voice.availabilities.update(agentId, { availability: { agent_state: state } });
          writesOk += 1;
        } catch (exc) {
          writesFailed += 1;
          if (firstWriteError === null) firstWriteError = String(exc && exc.message ? exc.message : exc);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  }
  const writeMs = performance.now() - writeStarted;
  const totalMs = performance.now() - started;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());

  const short = options.expectAgents !== null && agents.length < options.expectAgents;
  const outcome = error ? 'error' : (short ? 'truncated' : 'complete');
  const round = (ms) => Math.round(ms * 10) / 10;
  const report = {
    client: 'node-zendesk',
    version: nodeZendeskVersion,
    outcome,
    error: error || firstWriteError,
    list_ms: round(listMs),
    write_ms: round(writeMs),
    total_ms: round(totalMs),
    agents: agents.length,
    memberships: memberships.length,
    memberships_joined: joined,
    agents_with_groups: [...groupsOf.values()].filter((groups) => groups.length > 0).length,
    writes_ok: writesOk,
    writes_failed: writesFailed,
    errors_inside_result: errorsInside,
    concurrency: options.concurrency,
    peak_rss_kib: Math.round(peakRss / 1024),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return error || short || writesFailed ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (exc) => {
  clearInterval(sampler);
  process.stderr.write(`node_zendesk_bench: ${exc && exc.stack ? exc.stack : exc}\n`);
  process.exitCode = 1;
});
