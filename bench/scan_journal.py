"""Per-scan cost of the scan journal: `ScanRecorder.add` with and without it, in one process.

    .venv/bin/python bench/scan_journal.py [--scans 200000] [--rounds 5]

`add` is what the JSON scan path pays per scan for recording it (the database write happens
behind, in batches, on the recorder's thread; here `write` does nothing, so the thread only
takes each 2,000 queued scans away and retires the journal files they fill). With the journal, `add` also
encodes the scan as one line and appends it with one os.write to this process's segment file in
a temporary folder. Prints the median time per scan of each and the difference, which is what
the journal adds to every answered scan (set it against the ~0.55-0.65 ms of worker CPU a JSON
scan costs, README "Measured"). Nothing here is pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marketplace.traceability.journal import ScanJournal  # noqa: E402
from marketplace.traceability.scans import ScanRecord, ScanRecorder, encode_scan  # noqa: E402


def per_scan(recorder: ScanRecorder, records: list[ScanRecord]) -> float:
    started = time.perf_counter()
    for record in records:
        recorder.add(record)
    return (time.perf_counter() - started) / len(records)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    records = [
        ScanRecord(1000 + number % 2000, True, datetime.now(UTC), "30.2,120.1", f"{number:032x}")
        for number in range(arguments.scans)
    ]
    with tempfile.TemporaryDirectory() as folder:

        def ignore(*_):
            return None

        plain = ScanRecorder(write=ignore, interval=3600, sweep_interval=None)
        journalled = ScanRecorder(
            write=ignore, interval=3600, sweep_interval=None, journal=ScanJournal(Path(folder))
        )
        without, with_journal = [], []
        for _ in range(arguments.rounds):  # alternated: the machine's speed wanders
            without.append(per_scan(plain, records))
            with_journal.append(per_scan(journalled, records))
        line = len(encode_scan(records[0]))
    before, after = statistics.median(without) * 1e6, statistics.median(with_journal) * 1e6
    print(f"ScanRecorder.add, {arguments.scans:,} scans x {arguments.rounds} rounds (median):")
    print(f"  without journal {before:.2f} us/scan")
    print(
        f"  with journal    {after:.2f} us/scan  (+{after - before:.2f} us; "
        f"{line} bytes a scan in the journal)"
    )


if __name__ == "__main__":
    main()
