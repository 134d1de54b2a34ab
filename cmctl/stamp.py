"""Has anything that feeds the plan changed since the ledger was last synced?

A cron tick every minute must cost almost nothing. After each full run, cmctl
records a stamp of its inputs: cmctl.yaml, .env and every calendar file (size,
mtime, inode), plus cmctl's version. If a later run finds the same stamp, the
ledger already holds the current plan, and "is anything due?" is one query on the
ledger: the calendars need not be read at all.

Like git's index, a file modified within the same second as the stamp is treated as
changed ("racy" timestamps): an edit cannot hide behind mtime granularity.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from cmctl import __version__
from cmctl.config import Config

STAMP_NAME = "plan.stamp"
RACY_SECONDS = 2.0


def compute(config: Config) -> dict[str, object]:
    taken = time.time()  # before the stat calls: an edit after this is "racy"
    files = [config.path, config.root / ".env", *config.calendar_files()]
    entries: dict[str, list[int]] = {}
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        entries[str(path)] = [st.st_size, st.st_mtime_ns, st.st_ino]
    return {"version": __version__, "files": entries, "taken": taken}


def _path(config: Config) -> Path:
    return config.state_dir / STAMP_NAME


def matching(config: Config) -> dict[str, Any] | None:
    """What was saved (the stamp, and the ledger's ``attention`` mark with it) when the
    stamp matches the inputs as they are now; None otherwise."""
    try:
        stored = json.loads(_read(_path(config)))
    except (OSError, ValueError):
        return None
    current = compute(config)
    if not isinstance(stored, dict) or not isinstance(stored.get("stamp"), dict):
        return None
    previous = dict(stored["stamp"])
    taken = float(previous.pop("taken", 0))
    current.pop("taken")
    if previous != current:
        return None
    # A file modified within RACY_SECONDS of the moment it was stamped may have changed
    # again in the same mtime tick, unseen: treat it as changed (git's "racy" rule).
    newest = max((v[1] for v in previous["files"].values()), default=0) / 1e9
    return stored if newest < taken - RACY_SECONDS else None


def _read(path: Path, limit: int = 16 << 20) -> str:
    """The stamp's text; a FIFO or device in its place is an error, never a hang."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        data = os.read(fd, limit)
    finally:
        os.close(fd)
    return data.decode("utf-8")


def save(config: Config, stamp: dict[str, object], *, attention: object = None) -> None:
    """Record ``stamp`` (computed before the inputs were read) atomically; ``attention``:
    the ledger's mark when that run found something that needs a human."""
    path = _path(config)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"stamp": stamp, "attention": attention}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def forget(config: Config) -> None:
    """Make the next run read everything (after an error, a held calendar...)."""
    with contextlib.suppress(OSError):
        _path(config).unlink(missing_ok=True)
