"""Benchmark: queue placement when many queued posts find no slot.

The review's workload (issue #10 follow-up): 3,000 queued posts over 300 different
`after:` days, one queue of ten slots a week, so that some 1,400 posts find no free slot
within the two years each looks ahead. Before, each of those scanned its two years of
slots; now placement remembers, per queue and account set, the stretches proven full
(cmctl.queues.place). Times `place()` in process both ways from one run (the old search
is `remember_full=False`), checks that both give the same placement, and prints the
median of each and the ratio.

    python benchmarks/queues.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from cmctl.queues import Queue, Unplaced, Waiting, parse_slot, place

POSTS = 3000
AFTERS = 300
START = date(2027, 1, 4)  # a Monday
NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
QUEUE = Queue(
    "weekdays",
    "Europe/Paris",
    (parse_slot("mon-fri 09:00"), parse_slot("mon-fri 12:30")),
    ("brand",),
)


def workload() -> list[Waiting]:
    return [
        Waiting(
            "bench",
            f"p{i:04d}",
            "weekdays",
            ("brand",),
            START + timedelta(days=(i % AFTERS) * 4 // 3),
        )
        for i in range(POSTS)
    ]


def timed(waiting: list[Waiting], remember_full: bool, repeat: int) -> tuple[float, dict]:
    runs: list[float] = []
    result: dict = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = place(waiting, {"weekdays": QUEUE}, {}, NOW, remember_full=remember_full)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    waiting = workload()
    old, before = timed(waiting, False, args.repeat)
    new, after = timed(waiting, True, args.repeat)
    assert before == after, "placement differs"
    unplaced = sum(isinstance(r, Unplaced) for r in after.values())
    print(f"{POSTS} queued posts, {AFTERS} 'after' days, {unplaced} without a slot")
    print(f"place(), before (search from each post's start): {old:.3f} s")
    print(f"place(), now (stretches proven full remembered): {new:.3f} s")
    print(f"ratio: {old / new:.1f}x faster")


if __name__ == "__main__":
    main()
