"""Benchmarks of the publishing engine (issue #3). Each prints its figures and target.

    python benchmarks/publish.py burst      # 1,000 posts due in one minute, 20 accounts
    python benchmarks/publish.py idle       # daemon with 10,000 future jobs: RSS, CPU
    python benchmarks/publish.py tick       # cron tick, nothing due, 10,000 posts
    python benchmarks/publish.py            # all three

The fake network is tests/fakes/mastodon.py (the same one the tests use), on
loopback, answering every request after --latency seconds (20 ms).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from validate import timed  # noqa: E402  (a sibling script)


def cmctl() -> str:
    return shutil.which("cmctl") or sys.exit("cmctl is not installed (pip install -e .)")


def write_project(
    root: Path, accounts: dict[str, str], posts: list[tuple[str, str, str]], per_file: int = 100
) -> None:
    """accounts: name -> YAML body lines; posts: (id, 'YYYY-MM-DD HH:MM:SS', account)."""
    lines = ["accounts:"]
    for name, body in accounts.items():
        lines.append(f"  {name}:")
        lines += [f"    {line}" for line in body.splitlines()]
    lines += ["defaults:", "  timezone: UTC"]
    (root / "calendars").mkdir(parents=True, exist_ok=True)
    (root / "cmctl.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for start in range(0, len(posts), per_file):
        chunk = posts[start : start + per_file]
        body = ["posts:"]
        for post_id, at, account in chunk:
            body += [
                f"  - id: {post_id}",
                f"    at: {at}",
                f"    accounts: [{account}]",
                f"    text: Post {post_id} 🎉 https://example.org/{post_id}",
            ]
        (root / "calendars" / f"c{start // per_file:03d}.yaml").write_text(
            "\n".join(body) + "\n", encoding="utf-8"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# ------------------------------------------------------------------------------ burst
def burst(args: argparse.Namespace) -> None:
    n_accounts, n_posts = args.accounts, args.posts
    per_account = n_posts // n_accounts
    ideal = per_account * args.latency
    with tempfile.TemporaryDirectory(prefix="cmctl-burst-") as tmp:
        root = Path(tmp)
        log_path = root / "server.log"
        server = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("leanserver.py")),
                str(args.latency),
                str(log_path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            url = server.stdout.readline().strip()  # type: ignore[union-attr]
            due = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
            at = due.strftime("%Y-%m-%d %H:%M:%S")
            accounts = {
                f"a{i:02d}": f"network: mastodon\ninstance: {url}\ntoken: t"
                for i in range(n_accounts)
            }
            posts = [(f"p{i:04d}", at, f"a{i % n_accounts:02d}") for i in range(n_posts)]
            write_project(root, accounts, posts)
            env = {**os.environ, "NO_COLOR": "1", "T": "token"}
            # Warm the ledger and the plan stamp with a run before the posts are due.
            subprocess.run([cmctl(), "publish"], cwd=root, env=env, check=True, capture_output=True)
            if args.mode == "daemon":
                cpu, wall = _burst_daemon(root, env, due, n_posts, log_path)
            else:
                cpu, wall = _burst_cron(root, env, due)
        finally:
            server.terminate()
            server.wait()
        received = []
        for line in log_path.read_text(encoding="utf-8").splitlines():
            stamp, text = line.split("\t", 1)
            received.append((float(stamp), text.split()[1]))
        lateness = [t - due.timestamp() for t, _ in received]
        by_account: dict[str, list[str]] = {}
        for _, post_id in sorted(received):
            by_account.setdefault(f"a{int(post_id[1:]) % n_accounts:02d}", []).append(post_id)
        order_ok = all(ids == sorted(ids) for ids in by_account.values())
        how = "the running `cmctl daemon`" if args.mode == "daemon" else "one `cmctl publish`"
        print(
            f"burst: {len(received)} posts due at one instant over {n_accounts} accounts, "
            f"server latency {args.latency * 1000:.0f} ms, {how}"
        )
        print(
            f"  lateness p50 {percentile(lateness, 50):.2f} s   p99 "
            f"{percentile(lateness, 99):.2f} s   max {max(lateness):.2f} s   "
            f"(ideal {ideal:.2f} s: {per_account} posts x {args.latency * 1000:.0f} ms "
            "per account)"
        )
        ratio = max(lateness) / ideal
        print(
            f"  max lateness = {ratio:.2f}x ideal (target <= 1.5x) "
            f"{'OK' if ratio <= 1.5 else 'MISSED'}; process wall {wall:.2f} s, "
            f"CPU {cpu:.2f} s"
        )
        print(
            f"  each post exactly once: {len(received) == n_posts}; "
            f"per-account order kept: {order_ok}"
        )


def _burst_cron(root: Path, env: dict[str, str], due: datetime) -> tuple[float, float]:
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
    started = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [cmctl(), "publish", "--json"]
    if os.environ.get("CMCTL_BENCH_PROFILE"):  # e.g. py-spy record -o prof.txt -f raw --
        command = [*os.environ["CMCTL_BENCH_PROFILE"].split(), *command]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"publish failed ({done.returncode}): {done.stderr[-2000:]}")
    return (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime), wall


def _burst_daemon(
    root: Path, env: dict[str, str], due: datetime, n_posts: int, log_path: Path
) -> tuple[float, float]:
    """The daemon is started before the posts are due, as it would be in production."""
    log = root / "daemon.log"
    proc = subprocess.Popen(
        [cmctl(), "daemon", "--log-format", "json"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        while '"sleeping"' not in log.read_text():
            if proc.poll() is not None:
                sys.exit("daemon died: " + log.read_text()[-2000:])
            time.sleep(0.05)
        cpu0 = _cpu_seconds(proc.pid)
        if os.environ.get("CMCTL_BENCH_PROFILE_DAEMON"):  # a file for py-spy's raw output
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-r",
                    "400",
                    "-f",
                    "raw",
                    "-d",
                    "12",
                    "-o",
                    os.environ["CMCTL_BENCH_PROFILE_DAEMON"],
                    "--pid",
                    str(proc.pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        started = time.perf_counter()
        while log.read_text().count('"event": "published"') < n_posts:
            if time.perf_counter() - started > 120:
                sys.exit("the daemon did not publish everything in 120 s")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return cpu, wall


# ------------------------------------------------------------------------------ idle
def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cmctl-idle-") as tmp:
        root = Path(tmp)
        start = datetime.now(UTC) + timedelta(days=2)
        posts = [
            (f"p{i:05d}", (start + timedelta(minutes=7 * i)).strftime("%Y-%m-%d %H:%M:%S"), "feed")
            for i in range(args.jobs)
        ]
        write_project(root, {"feed": "network: feed\npath: public/feed.xml"}, posts)
        env = {**os.environ, "NO_COLOR": "1"}
        log = (root / "daemon.log").open("w")
        proc = subprocess.Popen(
            [cmctl(), "daemon", "--log-format", "json"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 120
            while '"sleeping"' not in (root / "daemon.log").read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("daemon did not start: " + (root / "daemon.log").read_text())
                time.sleep(0.2)
            time.sleep(2)
            cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            rss_peak = _rss_kb(proc.pid)
            while time.monotonic() - t0 < args.seconds:
                time.sleep(1)
                rss_peak = max(rss_peak, _rss_kb(proc.pid))
            cpu = (_cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            rss_mb = _rss_kb(proc.pid) / 1024
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"idle daemon: {args.jobs} future jobs, measured over {args.seconds} s")
        print(
            f"  resident memory {rss_mb:.1f} MB (peak {rss_peak / 1024:.1f} MB) "
            f"(target < 80 MB) {'OK' if rss_mb < 80 else 'MISSED'}"
        )
        print(f"  CPU {cpu:.2f} % of one core (target < 1%) {'OK' if cpu < 1 else 'MISSED'}")


# ------------------------------------------------------------------------------ tick
def tick(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cmctl-tick-") as tmp:
        root = Path(tmp)
        start = datetime.now(UTC) + timedelta(days=2)
        posts = [
            (f"p{i:05d}", (start + timedelta(minutes=7 * i)).strftime("%Y-%m-%d %H:%M:%S"), "feed")
            for i in range(args.jobs)
        ]
        write_project(root, {"feed": "network: feed\npath: public/feed.xml"}, posts)
        first = time.perf_counter()
        subprocess.run([cmctl(), "publish"], cwd=root, check=True, capture_output=True)
        first = time.perf_counter() - first
        time.sleep(2.5)  # past the stamp's racy window, as a minute-later cron tick is
        tick_time = timed([cmctl(), "publish"], root, args.repeat)
        bare = timed([sys.executable, "-c", "pass"], root, args.repeat)
        ratio = tick_time / bare
        print(f"cron tick: nothing due, {args.jobs} posts planned")
        print(f"  first run (reads every calendar, fills the ledger) {first * 1000:8.0f} ms")
        print(f"  python -c pass                                     {bare * 1000:8.0f} ms")
        print(
            f"  cmctl publish (nothing changed, nothing due)       {tick_time * 1000:8.0f} ms"
            f"   {ratio:.1f}x bare python (target <= 10x) {'OK' if ratio <= 10 else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "which", nargs="*", default=["burst", "idle", "tick"], choices=["burst", "idle", "tick"]
    )
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument(
        "--mode",
        choices=["cron", "daemon"],
        default="cron",
        help="burst: sent by a `cmctl publish` run, or by a running daemon",
    )
    args = parser.parse_args()
    for name in args.which:
        {"burst": burst, "idle": idle, "tick": tick}[name](args)


if __name__ == "__main__":
    main()
