"""Chaos: a daemon and cron runs racing, SIGKILL at random moments, ambiguous answers.

Workload: N posts over K accounts (Mastodon, Bluesky and feed accounts in turn) on the
in-process fake servers (tests/fakes/), all due within a few seconds. A real
`cmctl daemon` runs, real `cmctl publish` runs (cron) start at random moments, and the
driver SIGKILLs one of them (daemon or cron) at random moments, restarting the daemon
each time. X% of the create requests are ambiguous: the fake stores the post, then
answers 500 or holds the answer past cmctl's timeout. When the kills are spent, the
daemon alone finishes; the run ends when every job is settled (or at the time limit).

Invariants asserted at the end (exit 1 and the reproduction when one fails):
- no post twice on any server (counted by content; feed entries by id);
- every job in a final state (published, or unknown/failed/missed) and `cmctl status
  --json` lists every unknown/failed/missed one as needing a human;
- every published job's URL/id in the ledger is the server's post with that content;
- no post that is online is recorded `failed` or `missed`.

    python benchmarks/chaos.py --posts 60 --accounts 6 --ambiguous 30 --kills 20 --seed 7

The seed fixes the driver's choices (which process is killed, when, cron starts) and
the fakes' fault draws; the processes' own timing still varies from run to run, so a
failure prints the sequence of actions it took with its timestamps.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.bluesky import FakeBluesky  # noqa: E402
from tests.fakes.mastodon import FakeMastodon  # noqa: E402
from tests.process import cmctl_cmd  # noqa: E402

NETWORKS = ("mastodon", "bluesky", "feed")
FINAL = ("published", "unknown", "failed", "missed")
ATTENTION = ("unknown", "failed", "missed")
ATOM = "{http://www.w3.org/2005/Atom}"
HTTP_TIMEOUT = 1.0  # cmctl's answer timeout in the children: a held answer times out fast
HANG = HTTP_TIMEOUT + 1.5
CREATE_PATHS = {"mastodon": "/api/v1/statuses", "bluesky": "com.atproto.repo.putRecord"}


@dataclass
class ChaosResult:
    posts: int
    jobs: int = 0
    states: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    cron_runs: int = 0
    daemon_starts: int = 0
    create_requests: int = 0
    ambiguous: int = 0  # answers the fakes made ambiguous (stored, then 500 or held)
    seconds: float = 0.0
    settle_seconds: float = 0.0
    duplicates: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    sequence: list[str] = field(default_factory=list)
    root: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.duplicates and not self.violations

    def summary(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
        kills = ", ".join(f"{k} {v}" for k, v in sorted(self.kills.items())) or "none"
        lines = [
            f"chaos: {self.posts} posts, {self.jobs} jobs: {states}",
            f"  SIGKILL: {kills}; cron runs {self.cron_runs}; daemon starts "
            f"{self.daemon_starts}; create requests {self.create_requests}, ambiguous "
            f"{self.ambiguous}",
            f"  settled {self.settle_seconds:.1f} s after the kills; {self.seconds:.1f} s in all",
            f"  duplicates: {len(self.duplicates)}; other violations: {len(self.violations)}",
        ]
        lines += [f"  DUPLICATE {d}" for d in self.duplicates]
        lines += [f"  VIOLATION {v}" for v in self.violations]
        if not self.ok:
            lines.append(f"  project and logs kept in {self.root}")
            lines.append("  sequence:")
            lines += [f"    {s}" for s in self.sequence]
        return "\n".join(lines)


def text_of(seed: int, index: int) -> str:
    return f"Chaos post {index} of run {seed}: never twice, never lost"


def write_project(
    root: Path,
    masto: FakeMastodon,
    bsky: FakeBluesky,
    *,
    posts: int,
    accounts: int,
    seed: int,
    start: datetime,
) -> dict[str, str]:
    """cmctl.yaml and one calendar; returns account name → network."""
    networks = {f"a{i}": NETWORKS[i % len(NETWORKS)] for i in range(accounts)}
    lines = ["accounts:"]
    for name, network in networks.items():
        lines += [f"  {name}:", f"    network: {network}"]
        if network == "mastodon":
            lines += [f"    instance: {masto.url}", "    token: good-token"]
        elif network == "bluesky":
            lines += [
                "    handle: brand.test",
                "    app_password: app-pass-1234",
                f"    service: {bsky.url}",
            ]
        else:
            lines += [f"    path: public/{name}.xml"]
    lines += ["defaults:", "  timezone: UTC"]
    (root / "cmctl.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spread = 3.0 / max(posts, 1)
    cal = ["defaults:", "  catch_up: 1h", "posts:"]
    for i in range(posts):
        when = start + timedelta(seconds=1 + i * spread)
        cal += [
            f"  - id: p{i}",
            f"    at: {when:%Y-%m-%d %H:%M:%S}",
            f"    accounts: [a{i % accounts}]",
            f"    text: {json.dumps(text_of(seed, i))}",
        ]
    (root / "calendars").mkdir(exist_ok=True)
    (root / "calendars" / "chaos.yaml").write_text("\n".join(cal) + "\n", encoding="utf-8")
    return networks


def ledger_rows(root: Path) -> list[dict[str, Any]]:
    path = root / ".cmctl" / "ledger.sqlite3"
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return []
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM jobs")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def feed_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    root = ET.parse(path).getroot()
    return [e.findtext(f"{ATOM}id") or "" for e in root.iter(f"{ATOM}entry")]


class Processes:
    """The daemon and the cron runs, each a real cmctl process."""

    def __init__(self, root: Path, env: dict[str, str], note: Callable[[str], None]) -> None:
        self.root = root
        self.env = env
        self.note = note
        self.daemon: subprocess.Popen[bytes] | None = None
        self.crons: list[subprocess.Popen[bytes]] = []
        self.daemon_log = (root / "daemon.log").open("ab")
        self.cron_log = (root / "cron.log").open("ab")
        self.daemon_starts = 0
        self.cron_runs = 0

    def start_daemon(self) -> None:
        self.daemon = subprocess.Popen(
            [*cmctl_cmd(), "daemon", "--log-format", "json"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.daemon_log,
        )
        self.daemon_starts += 1
        self.note(f"start daemon pid {self.daemon.pid}")

    def start_cron(self) -> None:
        proc = subprocess.Popen(
            [*cmctl_cmd(), "publish"],
            cwd=self.root,
            env=self.env,
            stdout=self.cron_log,
            stderr=self.cron_log,
        )
        self.crons.append(proc)
        self.cron_runs += 1
        self.note(f"start cron pid {proc.pid}")

    def reap(self) -> None:
        for proc in [p for p in self.crons if p.poll() is not None]:
            self.crons.remove(proc)
            self.note(f"cron pid {proc.pid} exited {proc.returncode}")

    def close(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                code = self.daemon.wait(timeout=20)
                self.note(f"daemon stopped (SIGTERM), exit {code}")
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
                self.note("daemon did not stop on SIGTERM: killed")
        for proc in self.crons:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.daemon_log.close()
        self.cron_log.close()


def run_chaos(
    *,
    posts: int = 30,
    accounts: int = 3,
    ambiguous: float = 30.0,
    seed: int = 1,
    crons: int = 3,
    kills: int = 8,
    time_limit: float = 300.0,
    max_ambiguous: int | None = None,
    root: Path | None = None,
    verbose: bool = False,
) -> ChaosResult:
    """Run one chaos scenario; ``ambiguous`` is a percentage of create requests, at most
    ``max_ambiguous`` of them per server (each ambiguous answer costs its job a backoff:
    5 s, 10 s, 20 s... so a small run caps them to stay short)."""
    rng = random.Random(seed)
    began = time.monotonic()
    result = ChaosResult(posts=posts)
    keep = root is not None
    root = root or Path(tempfile.mkdtemp(prefix="cmctl-chaos-"))
    root.mkdir(parents=True, exist_ok=True)
    result.root = root

    def note(action: str) -> None:
        line = f"{time.monotonic() - began:7.2f}s {action}"
        result.sequence.append(line)
        if verbose:
            print(line, file=sys.stderr)

    share = ambiguous / 100.0
    with FakeMastodon() as masto, FakeBluesky() as bsky:
        for index, (fake, network) in enumerate(((masto, "mastodon"), (bsky, "bluesky"))):
            path = CREATE_PATHS[network]
            body = (
                {"error": "Internal Server Error"}
                if network == "mastodon"
                else {"error": "InternalServerError", "message": "Internal Server Error"}
            )
            # The cap is shared between the two kinds; an odd one goes to a 500 on one
            # server and to a held answer on the other.
            cap500 = caphang = None
            if max_ambiguous is not None:
                cap500 = (max_ambiguous + 1 - index) // 2
                caphang = max_ambiguous - cap500
            fake.fail_randomly(path, share / 2, 500, body, seed=seed * 31 + index, times=cap500)
            fake.fail_randomly(path, share / 2, hang=HANG, seed=seed * 37 + index, times=caphang)
        networks = write_project(
            root, masto, bsky, posts=posts, accounts=accounts, seed=seed, start=datetime.now(UTC)
        )
        env = {
            **os.environ,
            "HOME": str(root),
            "NO_COLOR": "1",
            "CMCTL_HTTP_TIMEOUT": str(HTTP_TIMEOUT),
        }
        procs = Processes(root, env, note)
        try:
            procs.start_daemon()
            # Chaos: cron runs start, and a process dies, at random moments.
            killed = 0
            while killed < kills and time.monotonic() - began < time_limit / 2:
                time.sleep(rng.uniform(0.2, 1.0))
                procs.reap()
                if len(procs.crons) < crons and rng.random() < 0.6:
                    procs.start_cron()
                if rng.random() < 0.5:
                    targets: list[tuple[str, subprocess.Popen[bytes]]] = [
                        ("cron", p) for p in procs.crons
                    ]
                    if procs.daemon is not None and procs.daemon.poll() is None:
                        targets.append(("daemon", procs.daemon))
                    if targets:
                        kind, victim = rng.choice(targets)
                        with contextlib.suppress(ProcessLookupError):
                            victim.kill()
                        victim.wait()
                        killed += 1
                        result.kills[kind] += 1
                        note(f"SIGKILL {kind} pid {victim.pid}")
                        if kind == "daemon":
                            procs.start_daemon()
            # Calm: the daemon alone settles everything (one last cron run races it).
            calm = time.monotonic()
            procs.reap()
            procs.start_cron()
            while time.monotonic() - began < time_limit:
                rows = ledger_rows(root)
                if len(rows) >= posts and all(r["state"] in FINAL for r in rows):
                    break
                time.sleep(0.2)
            result.settle_seconds = time.monotonic() - calm
            note("settled" if time.monotonic() - began < time_limit else "time limit")
            time.sleep(0.5)  # anything still going out shows up now
        finally:
            procs.close()
        result.cron_runs = procs.cron_runs
        result.daemon_starts = procs.daemon_starts
        result.create_requests = len(masto.requests_to(CREATE_PATHS["mastodon"])) + len(
            bsky.requests_to(CREATE_PATHS["bluesky"])
        )
        result.ambiguous = masto.random_faults_served + bsky.random_faults_served
        check(result, root, networks, masto, bsky, seed=seed, posts=posts)
    result.seconds = time.monotonic() - began
    if result.ok and not keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return result


def check(
    result: ChaosResult,
    root: Path,
    networks: dict[str, str],
    masto: FakeMastodon,
    bsky: FakeBluesky,
    *,
    seed: int,
    posts: int,
) -> None:
    """The invariants, as lists of duplicates and violations on ``result``."""
    rows = {r["key"]: r for r in ledger_rows(root)}
    result.jobs = len(rows)
    result.states = Counter(r["state"] for r in rows.values())
    if len(rows) != posts:
        result.violations.append(f"{len(rows)} jobs in the ledger for {posts} posts")
    texts = {f"chaos:p{i}@a{i % len(networks)}": text_of(seed, i) for i in range(posts)}

    # 1. Never twice.
    online: dict[str, int] = Counter()
    masto_by_text: dict[str, dict[str, Any]] = {}
    for status in masto.statuses:
        online[status["text"]] += 1
        masto_by_text[status["text"]] = status
    bsky_by_text: dict[str, tuple[str, dict[str, Any]]] = {}
    for uri, record in list(bsky.records.items()):
        if "/app.bsky.feed.post/" in uri:
            online[record.get("text", "")] += 1
            bsky_by_text[record.get("text", "")] = (uri, record)
    feeds: dict[str, set[str]] = {}
    for name, network in networks.items():
        if network == "feed":
            ids = feed_ids(root / "public" / f"{name}.xml")
            feeds[name] = set(ids)
            for entry, count in Counter(ids).items():
                if count > 1:
                    result.duplicates.append(f"feed {name}: entry {entry} x{count}")
    result.duplicates += [f"{text!r} x{count}" for text, count in online.items() if count > 1]

    # 2. Settled, and shown by `cmctl status`.
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for key, row in sorted(rows.items()):
        if row["state"] not in FINAL:
            retrying = row["state"] == "pending" and (row["next_attempt_at"] or "") > now
            what = "still retrying at the time limit" if retrying else "stuck"
            result.violations.append(
                f"{key} is {what} in {row['state']} (attempts {row['attempts']}, next "
                f"{row['next_attempt_at']}, claim {row['claim_owner']})"
            )
    status = subprocess.run(
        [*cmctl_cmd(), "status", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(root), "NO_COLOR": "1"},
    )
    try:
        shown = json.loads(status.stdout)
    except json.JSONDecodeError:
        result.violations.append(
            f"`cmctl status --json` exit {status.returncode}: {status.stderr.strip()[:300]}"
        )
        shown = {}
    listed = {a["key"] for a in shown.get("attention", [])}
    for key, row in rows.items():
        if row["state"] in ATTENTION and key not in listed:
            result.violations.append(f"{key} is {row['state']} but `status` does not list it")
    if shown and shown.get("counts") != dict(result.states):
        result.violations.append(
            f"`status` counts {shown.get('counts')} != ledger {dict(result.states)}"
        )

    # 3. Published means online, at the URL the ledger has; 4. online is never failed.
    for key, row in sorted(rows.items()):
        text = texts.get(key)
        network = row["network"]
        account = row["account"]
        if network == "mastodon":
            status_ = masto_by_text.get(text or "")
            is_online = status_ is not None
            matches = (
                is_online
                and row["url"] == status_["url"]
                and row["remote_id"] == str(status_["id"])
            )
        elif network == "bluesky":
            found = bsky_by_text.get(text or "")
            is_online = found is not None
            matches = (
                is_online
                and row["remote_id"] == found[0]
                and (row["url"] or "").endswith("/" + found[0].rsplit("/", 1)[-1])
            )
        else:
            is_online = f"urn:cmctl:{key}" in feeds.get(account, set())
            matches = is_online and row["remote_id"] == f"urn:cmctl:{key}"
        if row["state"] == "published" and not matches:
            result.violations.append(
                f"{key} is published in the ledger (url {row['url']}, id {row['remote_id']}) "
                "but the server has no such post with its content"
            )
        if is_online and row["state"] in ("failed", "missed"):
            result.violations.append(f"{key} is online but the ledger says {row['state']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=30, help="N posts (one account each)")
    parser.add_argument(
        "--accounts", type=int, default=3, help="K accounts: Mastodon, Bluesky and feed in turn"
    )
    parser.add_argument(
        "--ambiguous",
        type=float,
        default=30.0,
        help="%% of create requests stored then answered 500 or held",
    )
    parser.add_argument("--crons", type=int, default=3, help="cron runs at most at once")
    parser.add_argument("--kills", type=int, default=8, help="SIGKILLs to deliver")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-ambiguous",
        type=int,
        default=None,
        help="at most this many ambiguous answers per server",
    )
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each action")
    args = parser.parse_args(argv)
    result = run_chaos(
        posts=args.posts,
        accounts=args.accounts,
        ambiguous=args.ambiguous,
        seed=args.seed,
        crons=args.crons,
        kills=args.kills,
        time_limit=args.time_limit,
        max_ambiguous=args.max_ambiguous,
        root=args.keep,
        verbose=args.verbose,
    )
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
