"""Benchmark: recurring and queued posts against the same number of dated posts.

Issue #10's workload: a year of 50 weekly recurring posts (2,600 occurrences) and 500
queued posts over 20 accounts, beside a baseline project with the same 3,100 posts
written with `at:`. Prints, from one run, the median wall time of `cmctl validate` and
`cmctl plan --json` on each (runs alternate, so a drift of the machine falls on both),
and the ratio. Target: within 2x the dated baseline.

    python benchmarks/schedule.py [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ACCOUNTS = [f"brand-{i:02d}" for i in range(20)]
RECURRING = 50
QUEUED = 500
WEEKS = 52
START = date(2027, 1, 4)  # a Monday
WORDS = ("community", "manager", "veille", "contenu", "audience", "marque", "fil", "astuce")


def config(queues: bool) -> str:
    lines = ["accounts:"]
    lines += [f"  {a}: {{network: feed, path: public/{a}.xml}}" for a in ACCOUNTS]
    if queues:
        lines += [
            "queues:",
            "  weekdays:",
            '    slots: ["mon-fri 09:00", "mon-fri 12:30", "mon-fri 17:00"]',
        ]
    lines += ["defaults:", "  timezone: Europe/Paris"]
    return "\n".join(lines) + "\n"


def text(n: int) -> str:
    return " ".join(WORDS[(n + k) % len(WORDS)] for k in range(12)) + f" n°{n}"


def scheduled(root: Path) -> int:
    """The recurring and queued project; returns its post count (occurrences counted)."""
    lines = ["timezone: Europe/Paris", "posts:"]
    for n in range(RECURRING):
        day = START + timedelta(days=n % 5)
        lines += [
            f"  - id: weekly-{n}",
            f"    at: {day} {9 + n % 8:02d}:{(n * 7) % 60:02d}",
            f"    accounts: [{ACCOUNTS[n % len(ACCOUNTS)]}]",
            f"    repeat: {{every: week, count: {WEEKS}}}",
            f"    text: {text(n)}",
        ]
    for n in range(QUEUED):
        lines += [
            f"  - id: queued-{n}",
            "    queue: weekdays",
            f"    after: {START}",
            f"    accounts: [{ACCOUNTS[n % len(ACCOUNTS)]}]",
            f"    text: {text(RECURRING + n)}",
        ]
    write(root, config(queues=True), "\n".join(lines) + "\n")
    return RECURRING * WEEKS + QUEUED


def dated(root: Path) -> int:
    """The baseline: as many posts, each with its own `at:`."""
    lines = ["timezone: Europe/Paris", "posts:"]
    count = 0
    for n in range(RECURRING):
        for week in range(WEEKS):
            day = START + timedelta(days=n % 5 + 7 * week)
            lines += [
                f"  - id: weekly-{n}-{week}",
                f"    at: {day} {9 + n % 8:02d}:{(n * 7) % 60:02d}",
                f"    accounts: [{ACCOUNTS[n % len(ACCOUNTS)]}]",
                f"    text: {text(n)}",
            ]
            count += 1
    for n in range(QUEUED):
        day = START + timedelta(days=(n // len(ACCOUNTS)) % 60)
        lines += [
            f"  - id: queued-{n}",
            f"    at: {day} 11:{n % 60:02d}",
            f"    accounts: [{ACCOUNTS[n % len(ACCOUNTS)]}]",
            f"    text: {text(RECURRING + n)}",
        ]
        count += 1
    write(root, config(queues=False), "\n".join(lines) + "\n")
    return count


def write(root: Path, cfg: str, calendar: str) -> None:
    (root / "calendars").mkdir(parents=True)
    (root / "cmctl.yaml").write_text(cfg, encoding="utf-8")
    (root / "calendars" / "year.yaml").write_text(calendar, encoding="utf-8")


def once(root: Path, args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMCTL_")}
    env.update(HOME=str(root / "home"), NO_COLOR="1")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cmctl", *args],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"cmctl {' '.join(args)} failed in {root}: {done.stderr.decode()[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the projects here and keep them")
    options = parser.parse_args()
    base = options.keep or Path(tempfile.mkdtemp(prefix="cmctl-schedule-"))
    roots = {"recurring + queued": base / "scheduled", "dated (baseline)": base / "dated"}
    posts = {
        "recurring + queued": scheduled(roots["recurring + queued"]),
        "dated (baseline)": dated(roots["dated (baseline)"]),
    }
    print(f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPU(s), {options.repeat} runs each")
    for name, count in posts.items():
        print(f"  {name}: {count:,} posts over {len(ACCOUNTS)} accounts ({roots[name]})")
    for label, args in (("validate", ["validate"]), ("plan --json", ["plan", "--json"])):
        times: dict[str, list[float]] = {name: [] for name in roots}
        for run in range(options.repeat):
            order = list(roots) if run % 2 == 0 else list(reversed(roots))
            for name in order:
                times[name].append(once(roots[name], args))
        got = statistics.median(times["recurring + queued"])
        floor = statistics.median(times["dated (baseline)"])
        verdict = "ok" if got <= 2 * floor else "OVER"
        print(
            f"{label:>12}: recurring + queued {got:.2f} s, dated {floor:.2f} s, "
            f"ratio {got / floor:.2f}x (target <= 2x: {verdict})"
        )


if __name__ == "__main__":
    main()
