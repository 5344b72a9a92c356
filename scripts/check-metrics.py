#!/usr/bin/env python3
"""Parses a /metrics page with prometheus_client's parser and checks chatfn's metric families: their
types, their label names, and (for histograms) their buckets. Usage: check-metrics.py URL [FAMILY...]
where each FAMILY named must have at least one sample. Prints one line per problem; exits 1 on any."""

import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# name: (type, label names)
EXPECTED = {
    "chatfn_invocations": ("counter", {"app", "trigger", "status"}),
    "chatfn_invocation_duration_seconds": ("histogram", {"app", "trigger"}),
    "chatfn_blocking_request_duration_seconds": ("histogram", {"app", "trigger", "decision"}),
    "chatfn_blocking_expired": ("counter", set()),
    "chatfn_dead_letters": ("counter", {"app", "trigger", "reason"}),
    "chatfn_retries": ("counter", set()),
    "chatfn_consumer_lag": ("gauge", {"topic", "partition"}),
    "chatfn_in_flight": ("gauge", set()),
    "chatfn_workers": ("gauge", {"app", "lane"}),
    "chatfn_worker_restarts": ("counter", {"app", "reason"}),
    "chatfn_registry_version": ("gauge", set()),
    "process_cpu_seconds": ("counter", set()),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_open_fds": ("gauge", set()),
    "process_start_time_seconds": ("gauge", set()),
}


def main(url, required):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    problems = []
    for name in required:
        family = families.get(name)
        if family is None or not family.samples:
            problems.append(f"{name}: no sample")
            continue
        kind, labels = EXPECTED[name]
        if family.type != kind:
            problems.append(f"{name}: type {family.type}, expected {kind}")
        for sample in family.samples:
            names = set(sample.labels) - {"le"}
            if names != labels:
                problems.append(f"{sample.name}: labels {sorted(names)}, expected {sorted(labels)}")
                break
        if kind == "histogram":
            bounds = {sample.labels["le"] for sample in family.samples if sample.name.endswith("_bucket")}
            if "+Inf" not in bounds or len(bounds) < 5:
                problems.append(f"{name}: buckets {sorted(bounds)}")
            if not any(sample.name.endswith("_sum") for sample in family.samples):
                problems.append(f"{name}: no _sum")
    for problem in problems:
        print(f"problem: {problem}")
    print(f"{len(required)} families checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:] or sorted(EXPECTED)))
