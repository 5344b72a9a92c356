#!/bin/bash
# Profiles the non-blocking lane (200,000 events, release build) with perf, system-wide so that the
# Node workers and the broker are in it too, and prints the per-record budget (bench/README.md).
# Needs perf (Debian: linux-perf) and the right to record every CPU (root, or perf_event_paranoid <= 0).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ChatfnBench
bench=.build/release/ChatfnBench
# CPU per event without the profiler's overhead: chatfn + Node workers + broker, per 100,000 events.
total=$("$bench" --events 200000 --lane-only | sed -n 's/.*total \([0-9.]*\) s.*/\1/p')
perf record -a -e cpu-clock -F 1999 -g -o /tmp/chatfn-lane.perf -- "$bench" --events 200000 --lane-only > /dev/null
perf script -i /tmp/chatfn-lane.perf -F comm,tid,time,ip,sym 2>/dev/null > /tmp/chatfn-lane.script
echo "unprofiled: $total CPU seconds per 100,000 events"
python3 bench/perf-budget.py /tmp/chatfn-lane.script "$(python3 -c "print($total * 10)")"
