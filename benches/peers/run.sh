#!/usr/bin/env bash
# deskbridge vs zenpy vs node-zendesk on the same local Zendesk simulator.
#
#   benches/peers/run.sh            # installs what is missing, builds, runs, prints a table
#
# Environment knobs (defaults in brackets):
#   RUNS [3]               timed runs per client (the median is reported)
#   AGENTS [10000]         agents in the simulator (each in one of GROUP_COUNT groups)
#   GROUP_COUNT [20]
#   WRITES [3000]          Talk availability writes per run
#   CONCURRENCY [8]        writes in flight, the same for every client
#   THROTTLE_AGENTS [2000] agents in the throttled (list-only) run
#   THROTTLE_LIMIT [30]    requests per minute allowed in the throttled run
#   SKIP_THROTTLED [0]     1 to skip the throttled run
#
# Needs python3 (with venv), node + npm, cargo; /usr/bin/time (apt-get install time).
# Everything talks to 127.0.0.1 only; the registries are used only to install the pins.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-3}"
AGENTS="${AGENTS:-10000}"
GROUP_COUNT="${GROUP_COUNT:-20}"
WRITES="${WRITES:-3000}"
CONCURRENCY="${CONCURRENCY:-8}"
THROTTLE_AGENTS="${THROTTLE_AGENTS:-2000}"
THROTTLE_LIMIT="${THROTTLE_LIMIT:-30}"
SKIP_THROTTLED="${SKIP_THROTTLED:-0}"
WORK="$(mktemp -d)"
SIM_PID=""

log() { printf '%s\n' "$*" >&2; }
cleanup() {
  if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- install what is missing --------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time (apt-get)"
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
if [[ ! -x "$HERE/.venv/bin/python" ]] || ! "$HERE/.venv/bin/python" -c 'import zenpy' 2>/dev/null; then
  log "installing zenpy into benches/peers/.venv"
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q -r "$HERE/requirements.txt"
fi
if [[ ! -d "$HERE/node_modules/node-zendesk" ]]; then
  log "installing node-zendesk into benches/peers/node_modules (npm ci)"
  (cd "$HERE" && npm ci --silent --no-audit --no-fund)
fi
log "building the release examples"
(cd "$ROOT" && cargo build --release --quiet --example sim_server --example bench_zendesk_peers)
SIM_BIN="$ROOT/target/release/examples/sim_server"
OURS_BIN="$ROOT/target/release/examples/bench_zendesk_peers"

# --- simulator control -----------------------------------------------------------------------
start_sim() { # args: sim_server flags
  stop_sim
  "$SIM_BIN" "$@" >"$WORK/sim.json" 2>"$WORK/sim.err" &
  SIM_PID=$!
  for _ in $(seq 1 100); do
    [[ -s "$WORK/sim.json" ]] && break
    sleep 0.1
  done
  [[ -s "$WORK/sim.json" ]] || { log "sim_server did not start:"; cat "$WORK/sim.err" >&2; exit 1; }
  BASE_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.json")"
  CONTROL_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_url"])' "$WORK/sim.json")"
}
stop_sim() {
  if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; fi
  SIM_PID=""
}

client_cmd() { # name -> command words
  case "$1" in
    deskbridge) echo "$OURS_BIN" ;;
    zenpy) echo "$HERE/.venv/bin/python $HERE/zenpy_bench.py" ;;
    node-zendesk) echo "node $HERE/node_zendesk_bench.js" ;;
  esac
}

# run_client NAME PHASE RUN EXPECT EXTRA_FLAGS... : one run, merged into one JSON record
run_client() {
  local name="$1" phase="$2" run="$3" expect="$4"; shift 4
  local out="$WORK/$name-$phase-$run"
  curl -sf -X POST "${CONTROL_URL}reset" >/dev/null
  local status=0
  # shellcheck disable=SC2046
  timeout 600 /usr/bin/time -f '%M' -o "$out.rss" $(client_cmd "$name") \
    --base-url "$BASE_URL" --email admin@example.com --api-token sim-zendesk-token \
    --expect-agents "$expect" --concurrency "$CONCURRENCY" "$@" >"$out.json" 2>"$out.err" || status=$?
  curl -sf "${CONTROL_URL}requests" >"$out.requests"
  python3 - "$name" "$phase" "$run" "$status" "$out" "$expect" <<'EOF' >>"$WORK/records.jsonl"
import json, sys
name, phase, run, status, out, expect = sys.argv[1:]
try:
    report = json.loads(open(out + ".json").read().strip().splitlines()[-1])
except Exception as exc:  # the client printed nothing usable: keep what we know
    report = {"client": name, "outcome": "error", "error": f"no report ({exc}); stderr: "
              + open(out + ".err").read()[-500:]}
rss_lines = [l for l in open(out + ".rss").read().split() if l.isdigit()]
report.update({
    "phase": phase, "run": int(run), "exit_code": int(status), "expected": int(expect),
    "server_requests": json.load(open(out + ".requests")),
    "peak_rss_kib_measured": int(rss_lines[-1]) if rss_lines else None,
})
print(json.dumps(report))
EOF
  log "  $name $phase #$run: exit $status, $(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(r.get("outcome"), r.get("total_ms"), "ms,", r["server_requests"]["total"], "requests,", r.get("agents"), "agents")' "$WORK/records.jsonl")"
}

CLIENTS=(deskbridge zenpy node-zendesk)
: >"$WORK/records.jsonl"

log "== full run: $AGENTS agents, $GROUP_COUNT groups, $WRITES Talk writes, concurrency $CONCURRENCY, $RUNS runs each"
start_sim --agents "$AGENTS" --groups "$GROUP_COUNT" --omnichannel off
for run in $(seq 1 "$RUNS"); do
  for name in "${CLIENTS[@]}"; do
    run_client "$name" full "$run" "$AGENTS" --writes "$WRITES"
  done
done

if [[ "$SKIP_THROTTLED" != 1 ]]; then
  log "== throttled run (list only): $THROTTLE_AGENTS agents, $THROTTLE_LIMIT requests/minute, 429 + Retry-After"
  for name in "${CLIENTS[@]}"; do
    # A fresh simulator per client, so each starts with a full window.
    start_sim --agents "$THROTTLE_AGENTS" --groups "$GROUP_COUNT" --omnichannel off --rate-limit-per-minute "$THROTTLE_LIMIT"
    run_client "$name" throttled 1 "$THROTTLE_AGENTS" --list-only
  done
fi
stop_sim

python3 "$HERE/report.py" "$WORK/records.jsonl" "$HERE/results.json" \
  --agents "$AGENTS" --groups "$GROUP_COUNT" --writes "$WRITES" --concurrency "$CONCURRENCY" \
  --throttle-agents "$THROTTLE_AGENTS" --throttle-limit "$THROTTLE_LIMIT"
