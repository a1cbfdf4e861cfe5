#!/usr/bin/env python3
"""zenpy's side of deskbridge's peer benchmark (see README.md).

Against a Zendesk base URL (the standalone simulator), with zenpy as a Python developer
would use it:

1. list every agent and admin: ``zenpy.users(role=["agent", "admin"])`` (zenpy turns on
   cursor pagination for ``users`` itself: ``page[size]=100``, then ``links.next``), and
   every group membership: ``zenpy.group_memberships()`` (cursor pages too); join them
   (agent -> group ids);
2. set the Talk availability of the first ``--writes`` agents (``agent_state``
   online/offline alternating). zenpy has a read-only Talk availability API
   (``zenpy.talk.availability(id)``), no update; the write goes through zenpy's own
   request machinery on that API object: ``api._put(api._build_url(endpoint(id=...)),
   payload)``, which is what zenpy's own ``update`` methods do (rate-limit handling,
   ``Retry-After`` waits, error checking and response handling included).
   ``--concurrency N`` > 1 spreads the writes over N threads sharing the one client (zenpy
   is synchronous; threads are how its users parallelise).

Prints ONE JSON line with the same fields as ``examples/bench_zendesk_peers.rs``.
zenpy is pointed at the simulator with its documented overrides ``ZENPY_FORCE_NETLOC``
(host:port) and ``ZENPY_FORCE_SCHEME`` (http), set from ``--base-url``.
Exit 0 on success, 1 when a listing failed / came back short / a write failed, 2 on usage.
"""

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from urllib.parse import urlparse


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("ZENDESK_BASE_URL"), required=False)
    parser.add_argument("--email", default=os.environ.get("ZENDESK_EMAIL"))
    parser.add_argument("--api-token", default=os.environ.get("ZENDESK_API_TOKEN"))
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--expect-agents", type=int)
    parser.add_argument("--list-only", action="store_true")
    args = parser.parse_args()
    if not (args.base_url and args.email and args.api_token):
        parser.error("--base-url, --email and --api-token (or ZENDESK_*) are required")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def main():
    args = parse_args()
    url = urlparse(args.base_url)
    os.environ["ZENPY_FORCE_NETLOC"] = url.netloc
    os.environ["ZENPY_FORCE_SCHEME"] = url.scheme
    from zenpy import Zenpy  # imported after the overrides, as zenpy reads them per call

    zenpy = Zenpy(subdomain="sim", email=args.email, token=args.api_token)

    started = time.perf_counter()
    error = None
    agents = []
    memberships = []
    try:
        agents = [user for user in zenpy.users(role=["agent", "admin"])]
        memberships = [membership for membership in zenpy.group_memberships()]
    except Exception as exc:  # report every failure the same way as the other clients
        error = f"{type(exc).__name__}: {exc}"
    groups_of = {agent.id: [] for agent in agents}
    joined = 0
    for membership in memberships:
        groups = groups_of.get(membership.user_id)
        if groups is not None:
            groups.append(membership.group_id)
            joined += 1
    list_ms = (time.perf_counter() - started) * 1000

    write_started = time.perf_counter()
    writes_ok = 0
    writes_failed = 0
    first_write_error = None
    if not args.list_only and error is None:
        talk = zenpy.talk.availability

        def write(indexed):
            index, agent_id = indexed
            state = "online" if index % 2 == 0 else "offline"
            talk._put(
                talk._build_url(talk.endpoint(id=agent_id)),
                payload={"availability": {"agent_state": state}},
            )

        targets = list(enumerate(agent.id for agent in agents[: args.writes]))
        if args.concurrency == 1:
            outcomes = []
            for target in targets:
                try:
                    write(target)
                    outcomes.append(None)
                except Exception as exc:
                    outcomes.append(exc)
        else:
            def guarded(target):
                try:
                    write(target)
                    return None
                except Exception as exc:
                    return exc

            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                outcomes = list(pool.map(guarded, targets))
        for outcome in outcomes:
            if outcome is None:
                writes_ok += 1
            else:
                writes_failed += 1
                if first_write_error is None:
                    first_write_error = f"{type(outcome).__name__}: {outcome}"
    write_ms = (time.perf_counter() - write_started) * 1000
    total_ms = (time.perf_counter() - started) * 1000

    short = args.expect_agents is not None and len(agents) < args.expect_agents
    outcome = "error" if error else ("truncated" if short else "complete")
    report = {
        "client": "zenpy",
        "version": version("zenpy"),
        "outcome": outcome,
        "error": error or first_write_error,
        "list_ms": round(list_ms, 1),
        "write_ms": round(write_ms, 1),
        "total_ms": round(total_ms, 1),
        "agents": len(agents),
        "memberships": len(memberships),
        "memberships_joined": joined,
        "agents_with_groups": sum(1 for groups in groups_of.values() if groups),
        "writes_ok": writes_ok,
        "writes_failed": writes_failed,
        "concurrency": args.concurrency,
        # Linux reports ru_maxrss in KiB.
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(report), flush=True)
    return 1 if (error or short or writes_failed) else 0


if __name__ == "__main__":
    sys.exit(main())
