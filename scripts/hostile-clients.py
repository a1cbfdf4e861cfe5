#!/usr/bin/env python3
"""Slow-client and body-flood run against a running deskbridge server (docs/SECURITY.md).

Usage:
    scripts/hostile-clients.py --port 8087 --pid <server pid> [--path /talkdesk/contact_sync]
                               [--slow 500] [--flood 500] [--body-mib 8] [--wait 40]

Opens --slow connections split between six stalled patterns (an idle socket, partial
headers, a header every 2 s, Content-Length with no body, one body byte every 2 s, and a
complete request followed by silence), then --flood connections that each declare and send a
--body-mib MiB body. Prints, every second, how many of the slow connections the server still
holds open and the server's RSS (from /proc/<pid>/status), and at the end the largest RSS
seen, how many stalled connections were cut and after how long, and the flood's answers.
Only loopback targets are accepted. Standard library only.
"""

import argparse
import collections
import socket
import threading
import time


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


PATTERNS = ["idle", "partial headers", "header trickle", "no body", "body trickle", "keep-alive silence"]


def slow_client(port, path, pattern, results, stop):
    started = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        results.append((pattern, "refused", 0.0))
        return
    sock.settimeout(0.5)
    head = f"POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
    try:
        if pattern == "partial headers":
            sock.sendall(f"POST {path} HTTP/1.1\r\nhost: local".encode())
        elif pattern == "no body":
            sock.sendall((head + "content-length: 1000\r\n\r\n").encode())
        elif pattern == "body trickle":
            sock.sendall((head + "content-length: 1000\r\n\r\n").encode())
        elif pattern == "header trickle":
            sock.sendall(head.encode())
        elif pattern == "keep-alive silence":
            sock.sendall((head + "content-length: 2\r\n\r\n{}").encode())
        last = time.monotonic()
        answered = False
        while not stop.is_set():
            if time.monotonic() - last >= 2:
                last = time.monotonic()
                if pattern == "header trickle":
                    sock.sendall(b"x-slow: 1\r\n")
                elif pattern == "body trickle":
                    sock.sendall(b" ")
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                results.append((pattern, "cut after answer" if answered else "cut", time.monotonic() - started))
                return
            answered = True
    except OSError:
        results.append((pattern, "cut (reset)", time.monotonic() - started))
        return
    finally:
        sock.close()
    results.append((pattern, "still open", time.monotonic() - started))


def flood_client(port, path, mib, answers):
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.settimeout(10)
        size = mib * 1024 * 1024
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n".encode()
        )
        chunk = b" " * 65536
        sent = 0
        answer = b""
        try:
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        try:
            answer = sock.recv(200)
        except OSError:
            pass
        status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/1.1 ") else "closed"
        answers[status] += 1
        sock.close()
    except OSError:
        answers["refused"] += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--path", default="/talkdesk/contact_sync")
    parser.add_argument("--slow", type=int, default=500)
    parser.add_argument("--flood", type=int, default=500)
    parser.add_argument("--body-mib", type=int, default=8)
    parser.add_argument("--wait", type=float, default=40.0)
    args = parser.parse_args()

    before = rss_kib(args.pid)
    print(f"server RSS before: {before} KiB")
    stop = threading.Event()
    results = []
    threads = []
    for i in range(args.slow):
        pattern = PATTERNS[i % len(PATTERNS)]
        t = threading.Thread(target=slow_client, args=(args.port, args.path, pattern, results, stop), daemon=True)
        t.start()
        threads.append(t)
    answers = collections.Counter()
    flood = []
    for _ in range(args.flood):
        t = threading.Thread(target=flood_client, args=(args.port, args.path, args.body_mib, answers), daemon=True)
        t.start()
        flood.append(t)
    peak = before or 0
    started = time.monotonic()
    while time.monotonic() - started < args.wait:
        time.sleep(1)
        rss = rss_kib(args.pid) or 0
        peak = max(peak, rss)
        open_now = args.slow - len(results)
        print(f"t={time.monotonic() - started:4.0f}s  stalled connections still open: {open_now:4d}  server RSS: {rss} KiB")
        if open_now == 0 and all(not t.is_alive() for t in flood):
            break
    stop.set()
    for t in threads + flood:
        t.join(timeout=5)
    print(f"server RSS before {before} KiB, peak {peak} KiB, after {rss_kib(args.pid)} KiB")
    by_pattern = collections.defaultdict(list)
    for pattern, outcome, seconds in results:
        by_pattern[pattern].append((outcome, seconds))
    for pattern in PATTERNS:
        rows = by_pattern.get(pattern, [])
        outcomes = collections.Counter(o for o, _ in rows)
        longest = max((s for _, s in rows), default=0.0)
        print(f"  {pattern:20s} {dict(outcomes)}  longest held: {longest:.1f} s")
    print(f"  flood answers: {dict(answers)}")


if __name__ == "__main__":
    main()
