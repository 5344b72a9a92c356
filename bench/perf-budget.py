#!/usr/bin/env python3
"""Where a record's CPU goes in the non-blocking lane: classifies the samples of a system-wide
`perf record -g` of `ChatfnBench --lane-only` (see profile-lane.sh) by the first frame, from the leaf up,
that names a stage of the lane, over the middle 70% of the run. With the CPU microseconds per event of an
unprofiled run as the second argument it prints each stage's share in microseconds too.

usage: perf-budget.py PERF_SCRIPT_OUTPUT [MICROSECONDS_PER_EVENT]
"""
import collections
import re
import sys
# Parse perf script: header line "comm tid time:" then frames (leaf first), blank line between samples.
samples = []
cur = None
for line in open(sys.argv[1], errors='replace'):
    if not line.strip():
        if cur: samples.append(cur); cur = None
        continue
    if not line.startswith('\t') and not line.startswith(' ' * 8):
        m = re.match(r'\s*(.+?)\s+(\d+)\s+([\d.]+):', line)
        if m:
            if cur: samples.append(cur)
            cur = (m.group(1), float(m.group(3)), [])
        continue
    if cur is not None:
        parts = line.strip().split(' ', 1)
        cur[2].append(parts[1] if len(parts) > 1 else parts[0])
if cur: samples.append(cur)
lane = [s for s in samples if any('EventDispatcher' in f or '10Dispatcher05EventA0C' in f for f in s[2])]
t0, t1 = min(s[1] for s in lane), max(s[1] for s in lane)
span = t1 - t0
lo, hi = t0 + 0.15 * span, t1 - 0.15 * span
window = [s for s in samples if lo <= s[1] <= hi]
# Categories: (name, patterns matched against a frame); checked from the leaf up, first match wins.
cats = [
    ('invocation record: build + produce', ['InvocationRecord', 'KafkaProducer', 'rd_kafka_produce', 'rd_kafka_msg', 'msgset_writer', 'rd_kafka_toppar_enq', 'ProducerRecord']),
    ('frame encode + write to the pipe', ['WorkerProcessC6invoke', 'writeOutbox', 'RequestOutbox', 'WireFrameO12writeRequest', 'InvocationRequest', 'InvocationTableC8register']),
    ('result decode (pipe read, frame, finish)', ['WireFrameDecoder', 'InvocationTable', 'WorkerChannelHandler', 'ByteToMessageHandler']),
    ('completion + offsets + commit', ['RecordLeaseV8complete', 'ConsumerCoreC8complete', 'StateMachineV9completed', 'storeOffsets', 'rd_kafka_offset', 'rd_kafka_commit', 'PartitionProgress']),
    ('Kafka consume + hand-out (poll thread)', ['ConsumerCore', 'ConsumerClient', 'PollLoop', 'RecordLeases', 'KafkaRecord', 'rd_kafka_consume', 'rd_kafka_poll', 'rd_kafka_fetch', 'rd_kafka_q_serve', 'rd_kafka_consumer']),
    ('dispatch (decode attributes, route, key order, metrics, report)', ['EventDispatcher', '10Dispatcher05EventA0C', 'EventLaneService', 'KeyOrderedQueues', 'CloudEventKafkaBinding', 'ChatfnMetrics', 'MetricHandles', 'WorkerPool', 'ConcurrencyLimits', 'ApplicationLookup', 'SingleApplication', 'CountingReporter', 'InvocationTrace', 'FunctionCatalog']),
]
result = collections.Counter()
for comm, t, frames in window:
    if comm == 'swapper': result['idle'] += 1; continue
    if comm == 'node': result['Node workers'] += 1; continue
    if comm.startswith('rdk:mock'): result['broker'] += 1; continue
    if comm in ('unshare', 'mount', 'sh', 'prlimit', 'setsid', 'setpriv', 'perf', 'kdamond.0', 'sleep'): result['other'] += 1; continue
    name = None
    for f in frames:
        for cat, pats in cats:
            if any(p in f for p in pats): name = cat; break
        if name: break
    if name is None:
        leaf = frames[0] if frames else ''
        if comm.startswith('rdk:'): name = 'librdkafka client threads (I/O, both clients)'
        elif any(x in leaf for x in ('malloc', '_int_free', 'cfree', 'unlink_chunk', 'sysmalloc', 'calloc', 'memmove', 'mprotect')):
            name = 'memory allocation (callers not on the stack)'
        elif comm.startswith('NIO'): name = 'NIO event loops (wake-ups, other)'
        elif any(x in f for f in frames for x in ('futex', 'schedule', 'irqentry', 'finish_task_switch', '_raw_spin', 'syscall')):
            name = 'kernel: thread wake-ups and switches'
        else: name = 'Swift concurrency runtime (task switches, task groups), refcounting'
    result[name] += 1
busy = sum(v for k, v in result.items() if k != 'idle')
per_event_us = float(sys.argv[2]) if len(sys.argv) > 2 else None
print(f"window {hi-lo:.2f}s, samples {len(window)}, busy {busy}")
for k, v in result.most_common():
    if k == 'idle': continue
    share = v / busy
    extra = f"  {share * per_event_us:5.2f} µs" if per_event_us else ""
    print(f"{share*100:5.1f}%{extra}  {k}")

