"""Paired runs of two versions of cmctl on copies of one scale workload.

    git archive <commit> cmctl | tar -x -C /tmp/before-code
    python benchmarks/paired.py setup /tmp/pair            # one workload, two copies
    python benchmarks/paired.py run /tmp/pair /tmp/before-code publish 1   # fill ledgers
    python benchmarks/paired.py run /tmp/pair /tmp/before-code validate 1  # fill caches
    python benchmarks/paired.py run /tmp/pair /tmp/before-code json 3

`before` runs the code in the folder given (first on PYTHONPATH), `after` the installed
cmctl (or the code in $PAIRED_AFTER: a copy made like `before`'s, so that the work tree may
change while it runs); each has its own copy of the workload (the cache's fingerprint covers cmctl's
code, so two versions must not share one). Runs alternate (B A, A B, ...) so that a drift
of the machine's speed falls on both; each line gives CPU seconds (user + sys, the
steadier figure on a shared machine), wall, first row (`plan`) and peak RSS.
Measures: json (`plan --json`), plan (`plan` to a pipe), publish (into a new ledger,
the cache kept), validate, status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import scale


def setup(root: Path) -> None:
    before = root / "before"
    before.mkdir(parents=True)
    jobs = scale.generate(before, 100_000, 1_000, 20, datetime.now(UTC) + timedelta(days=2))
    (before / "home").mkdir()
    shutil.copytree(before, root / "after")
    print(f"{jobs:,} jobs in {before} and {root / 'after'}")


def env_of(root: Path, version: str, code: str) -> dict[str, str]:
    home = root / version / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CMCTL_", "XDG_"))
        and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        NO_COLOR="1",
        SCALE_TOKEN="not-a-token",
        SCALE_PASSWORD="not-a-password",
    )
    if version == "before":
        env["PYTHONPATH"] = code
    elif os.environ.get("PAIRED_AFTER"):  # a frozen copy of `after`, to keep editing
        env["PYTHONPATH"] = os.environ["PAIRED_AFTER"]
    return env


def once(root: Path, version: str, code: str, args: list[str], marker: bytes | None) -> Any:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmctl", *args],
        cwd=root / version,
        env=env_of(root, version, code),
        stdout=subprocess.PIPE if marker else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = None
    if marker is not None:
        assert proc.stdout is not None
        tail = b""
        while chunk := os.read(proc.stdout.fileno(), 65536):
            if first is None:
                tail = (tail + chunk)[-4096:]
                if marker in tail:
                    first = round(time.perf_counter() - start, 2)
        proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    code_ = os.waitstatus_to_exitcode(status)
    if code_ not in (0, 1):
        sys.exit(f"{version} {' '.join(args)} exited {code_}")
    return {
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
        "wall": round(time.perf_counter() - start, 2),
        "first_row": first,
        "rss_mb": usage.ru_maxrss // 1024,
    }


MEASURES: dict[str, tuple[list[str], bytes | None]] = {
    "json": (["plan", "--json"], None),
    "plan": (["plan"], b"client"),
    "publish": (["publish"], None),
    "validate": (["validate"], None),
    "status": (["status"], None),
}


def run(root: Path, code: str, what: str, pairs: int) -> None:
    args, marker = MEASURES[what]
    for i in range(pairs):
        for version in ("before", "after") if i % 2 == 0 else ("after", "before"):
            if what == "publish":  # a new ledger; the cache stays
                state = root / version / ".cmctl"
                if state.is_dir():
                    for entry in state.iterdir():
                        if entry.is_file():
                            entry.unlink()
            load = os.getloadavg()[0]
            result = once(root, version, code, args, marker)
            print(what, version, result, f"load {load:.1f}", flush=True)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "setup":
        setup(Path(sys.argv[2]))
    elif len(sys.argv) == 6 and sys.argv[1] == "run":
        run(Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
