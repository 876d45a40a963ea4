"""Prometheus counters for scans, by verdict; summed across workers like every other metric."""

from prometheus_client import Counter

SCANS = Counter("shanhai_scans_total", "Collaboration codes scanned (HTML or JSON), by verdict", ["verdict"])
