#!/usr/bin/python3
"""Sums what cafe-node processes report on /metrics, for the benchmarks' breakdowns.

Usage: metrics-sums.py PORT...  Prints one line: the number of synced writes, the seconds they
took, the number of commands run and their seconds, summed over every node (127.0.0.1:PORT)."""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

syncs = sync_seconds = commands = command_seconds = 0.0
for port in sys.argv[1:]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cafe_sync_duration_seconds_count":
                syncs += sample.value
            elif sample.name == "cafe_sync_duration_seconds_sum":
                sync_seconds += sample.value
            elif sample.name == "cafe_command_duration_seconds_count":
                commands += sample.value
            elif sample.name == "cafe_command_duration_seconds_sum":
                command_seconds += sample.value
print(f"{syncs:.0f} {sync_seconds:.6f} {commands:.0f} {command_seconds:.6f}")
