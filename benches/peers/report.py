#!/usr/bin/env python3
"""Summarise run.sh's records: medians per client, a Markdown table, results.json."""

import argparse
import json
import platform
import statistics
import subprocess
from datetime import datetime, timezone


def tool_version(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return None


def data_verdict(record):
    """Judge a run on the simulator's truth: every agent and every membership (the
    simulator seeds one membership per agent), or a short list that the client reported
    as success (exit 0: silently short), or a loud failure."""
    expected = record.get("expected")
    full = record.get("agents") == expected and record.get("memberships") == expected
    if record.get("exit_code") != 0:
        return "failed loudly" if not full else "failed (data complete)"
    return "complete" if full else "SILENTLY SHORT"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("records")
    parser.add_argument("output")
    for flag in ("--agents", "--groups", "--writes", "--concurrency", "--throttle-agents", "--throttle-limit"):
        parser.add_argument(flag, type=int)
    args = parser.parse_args()
    records = [json.loads(line) for line in open(args.records) if line.strip()]

    clients = []
    for record in records:
        if record["client"] not in clients:
            clients.append(record["client"])
    summary = {}
    for client in clients:
        full = [r for r in records if r["client"] == client and r["phase"] == "full"]
        ok = [r for r in full if data_verdict(r) == "complete"]
        summary[client] = {
            "version": next((r.get("version") for r in full if r.get("version")), None),
            "runs": len(full),
            "complete_runs": len(ok),
            "list_ms": median([r.get("list_ms") for r in ok]),
            "write_ms": median([r.get("write_ms") for r in ok]),
            "total_ms": median([r.get("total_ms") for r in ok]),
            "server_requests": median([r["server_requests"]["total"] for r in ok]),
            "peak_rss_kib": median([r.get("peak_rss_kib_measured") for r in ok]),
            "agents": median([r.get("agents") for r in ok]),
            "memberships": median([r.get("memberships") for r in ok]),
            "writes_ok": median([r.get("writes_ok") for r in ok]),
        }
        throttled = [r for r in records if r["client"] == client and r["phase"] == "throttled"]
        if throttled:
            t = throttled[-1]
            summary[client]["throttled"] = {
                "data": data_verdict(t),
                "expected": t.get("expected"),
                "exit_code": t.get("exit_code"),
                "agents": t.get("agents"),
                "memberships": t.get("memberships"),
                "list_ms": t.get("list_ms"),
                "server_requests": t["server_requests"]["total"],
                "answered_429": t["server_requests"]["by_status"].get("429", 0),
                "error": t.get("error"),
            }

    ours = summary.get("deskbridge", {})
    peers = [c for c in clients if c != "deskbridge" and summary[c]["total_ms"]]
    verdict = None
    if ours.get("total_ms") and peers:
        fastest = min(peers, key=lambda c: summary[c]["total_ms"])
        peer = summary[fastest]
        verdict = {
            "fastest_peer": fastest,
            "speedup_vs_fastest_peer": round(peer["total_ms"] / ours["total_ms"], 2),
            "at_least_3x_faster": peer["total_ms"] / ours["total_ms"] >= 3,
            "no_more_requests": all(ours["server_requests"] <= summary[c]["server_requests"] for c in peers),
            "less_memory": all(ours["peak_rss_kib"] < summary[c]["peak_rss_kib"] for c in peers),
        }

    def cell(value, unit=""):
        if value is None:
            return "-"
        if isinstance(value, float):
            value = round(value)
        return f"{value:,}{unit}"

    lines = [
        f"Full run: {args.agents:,} agents in {args.groups} groups, {args.writes:,} Talk availability "
        f"writes at concurrency {args.concurrency}; median of {max((s['runs'] for s in summary.values()), default=0)} runs.",
        "",
        "| client | version | list (ms) | writes (ms) | total (ms) | requests | peak RSS (KiB) | agents | memberships | writes ok |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for client in clients:
        s = summary[client]
        lines.append(
            f"| {client} | {s['version'] or '-'} | {cell(s['list_ms'])} | {cell(s['write_ms'])} | "
            f"{cell(s['total_ms'])} | {cell(s['server_requests'])} | {cell(s['peak_rss_kib'])} | "
            f"{cell(s['agents'])} | {cell(s['memberships'])} | {cell(s['writes_ok'])} |"
        )
    if any("throttled" in s for s in summary.values()):
        lines += [
            "",
            f"Throttled run (list only): {args.throttle_agents:,} agents, {args.throttle_limit} requests/minute, "
            "429 with Retry-After beyond that; expected "
            f"{args.throttle_agents:,} agents and {args.throttle_agents:,} memberships.",
            "",
            "| client | data | exit code | agents | memberships | list (ms) | requests | 429s |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for client in clients:
            t = summary[client].get("throttled")
            if t:
                lines.append(
                    f"| {client} | {t['data']} | {t['exit_code']} | {cell(t['agents'])} | "
                    f"{cell(t['memberships'])} | {cell(t['list_ms'])} | {cell(t['server_requests'])} | "
                    f"{cell(t['answered_429'])} |"
                )
    if verdict:
        lines += [
            "",
            f"deskbridge vs the fastest peer ({verdict['fastest_peer']}): "
            f"{verdict['speedup_vs_fastest_peer']}x faster; at least 3x: {verdict['at_least_3x_faster']}; "
            f"no more requests: {verdict['no_more_requests']}; less memory: {verdict['less_memory']}.",
        ]
    table = "\n".join(lines)
    print(table)

    result = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
            "python": tool_version(["python3", "--version"]),
            "node": tool_version(["node", "--version"]),
            "rustc": tool_version(["rustc", "--version"]),
        },
        "parameters": {k: v for k, v in vars(args).items() if k not in ("records", "output")},
        "summary": summary,
        "verdict": verdict,
        "table_markdown": table,
        "records": records,
    }
    with open(args.output, "w") as handle:
        json.dump(result, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
