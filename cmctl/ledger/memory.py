"""What the ledger remembers of queued posts: the time each job was synced with.

Queue placement (cmctl.queues) keeps a post where it is once something of it went out
or its slot has come; that is the ledger's knowledge, read here without writing and
without creating a ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from cmctl.ledger.preview import read_only
from cmctl.ledger.store import LEDGER_NAME, parse_iso
from cmctl.queues import CANCELLED, Remembered

BATCH = 500  # keys per query (SQLite's variable limit is higher; this keeps it cheap)


def queue_memory(state_dir: Path) -> Callable[[list[str]], Mapping[str, Remembered]]:
    """A reader of the ledger in ``state_dir``: job keys → what it has of each."""

    def read(keys: list[str]) -> Mapping[str, Remembered]:
        path = state_dir / LEDGER_NAME
        if not keys or not path.exists():
            return {}
        found: dict[str, Remembered] = {}
        with read_only(path) as db:
            cursor = db.cursor()
            cursor.row_factory = None
            for start in range(0, len(keys), BATCH):
                batch = keys[start : start + BATCH]
                for key, state, scheduled_at, reason in cursor.execute(
                    "SELECT key, state, scheduled_at, reason FROM jobs WHERE key IN "
                    f"({','.join('?' * len(batch))})",
                    batch,
                ):
                    at = parse_iso(scheduled_at)
                    if at is not None:
                        found[key] = Remembered(state, at, reason == CANCELLED)
        return found

    return read
