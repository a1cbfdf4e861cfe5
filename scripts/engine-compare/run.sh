#!/usr/bin/env bash
# Engine comparison behind docs/SHARED_STATE.md ("Choosing the embedded engine"):
# clean build cost (CPU seconds, dev and release) of rusqlite+bundled SQLite and of redb
# against a serde_json-only baseline; speed of one-transaction-per-write at 10,000 keys
# (~550-byte values) in each durability mode; and what survives a process that aborts
# right after 500 commits. Not part of CI; takes several minutes.
#
#   scripts/engine-compare/run.sh [AGENTS]     # default 10000
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
agents="${1:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

cpu_seconds() { # cpu_seconds CRATE PROFILE-FLAG...
  local crate="$1"; shift
  rm -rf "$CARGO_TARGET_DIR"
  local start end profile=dev
  [ "${1:-}" = --release ] && profile=release
  start=$(date +%s.%N)
  /usr/bin/env time -f "%U %S" -o "$work/time" cargo build -q -j2 --manifest-path "$here/$crate/Cargo.toml" "$@"
  end=$(date +%s.%N)
  read -r user sys < "$work/time"
  echo "{\"build\":\"$crate\",\"profile\":\"$profile\",\"cpu_s\":$(echo "$user + $sys" | bc),\"wall_s\":$(echo "$end - $start" | bc)}"
}

for crate in baseline sqlite redb; do
  cpu_seconds "$crate"
  cpu_seconds "$crate" --release
done

# Speed and crash behaviour (release binaries from the last builds).
for crate in sqlite redb; do
  cargo build -q -j2 --release --manifest-path "$here/$crate/Cargo.toml"
done
bin="$CARGO_TARGET_DIR/release"
"$bin/sqlite" "$work/s.db" NORMAL "$agents"
"$bin/sqlite" "$work/s2.db" FULL $((agents / 5))
"$bin/redb" "$work/r.redb" none "$agents"
"$bin/redb" "$work/r2.redb" immediate $((agents / 5))
for mode in NORMAL FULL; do
  "$bin/sqlite" "$work/c-$mode.db" "$mode" 500 crash 2>/dev/null || true
  echo -n "{\"after_abort\":\"sqlite $mode\",\"committed\":500,\"kept\":"; "$bin/sqlite" "$work/c-$mode.db" "$mode" 0 count | sed 's/.*after_abort_rows":\([0-9]*\).*/\1}/'
done
for mode in none immediate; do
  "$bin/redb" "$work/c-$mode.redb" "$mode" 500 crash 2>/dev/null || true
  echo -n "{\"after_abort\":\"redb $mode\",\"committed\":500,\"kept\":"; "$bin/redb" "$work/c-$mode.redb" "$mode" 0 count | sed 's/.*after_abort_rows":\([0-9]*\).*/\1}/'
done
