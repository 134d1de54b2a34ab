"""What the next run would do to the ledger, told before it happens (validate, plan).

The calendars alone cannot say that a thread's parts moved after some went out, that
a renamed file is the same posts as before, or that a calendar vanished: the ledger
knows what was sent. When a project has a ledger, `validate` and `plan` run the same
pure reconciliation as `publish` (read-only) and report its findings at the posts'
positions: errors for what publish will hold back, warnings for the rest.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cmctl.diagnostics import Diagnostic
from cmctl.ledger.reconcile import STARTED, Planned, Reconciliation, reconcile
from cmctl.ledger.store import (
    KNOWN_COLUMNS,
    LEDGER_NAME,
    LedgerError,
    planned_job,
    read_known,
)

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.config import Config
    from cmctl.project import Project


def _scope(project: Project) -> tuple[set[str], set[str]]:
    """The calendars publish would hold (their file has errors), and those present."""
    held_files = {d.path for d in project.errors}
    held = {c.name for c in project.calendars if c.display in held_files}
    return held, {c.name for c in project.calendars}


def has_ledger(config: Config) -> bool:
    return (config.state_dir / LEDGER_NAME).exists()


def foresee(project: Project) -> Reconciliation | None:
    """The reconciliation the next publish would apply, or None without a ledger."""
    path = project.config.state_dir / LEDGER_NAME
    if not path.exists():
        return None
    held, present = _scope(project)
    planned = []
    for job in project.jobs:
        if job.calendar in held:
            continue
        with contextlib.suppress(OverflowError, ValueError):  # reported by validate
            planned.append(planned_job(job))
    with read_only(path) as db:
        known = read_known(db)
    return reconcile(known, planned, present=present, held=held)


# Above this many rows that something of went out, `findings` reads the whole ledger.
FEW_STARTED = 5_000


def findings(project: Project) -> Reconciliation | None:
    """What `diagnostics` reports of ``foresee(project)``: the same held posts, the same
    inserts that inherit a sent job's state, the same vanished calendars (its updates
    and other inserts are not worked out), without reading the whole ledger when few of
    its rows were sent.

    The thread check and inheritance involve only rows that something of went out
    (``reconcile.STARTED``, or an attempt that may have reached the network):
    those rows, the other rows of their posts, the jobs of those posts, and the jobs
    that are the same post as one of them. The vanished calendars are a count by
    calendar. A ledger where most was sent is read whole, as `foresee` does.
    """
    path = project.config.state_dir / LEDGER_NAME
    if not path.exists():
        return None
    held, present = _scope(project)
    with read_only(path) as db:
        cursor = db.cursor()
        cursor.row_factory = None
        started = cursor.execute(
            f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs WHERE state IN "
            f"({', '.join(repr(s) for s in sorted(STARTED))}) OR maybe_sent_at IS NOT NULL "
            f"LIMIT {FEW_STARTED + 1}"
        ).fetchall()
        if len(started) > FEW_STARTED:
            known = read_known(db)
            jobs = [j for j in project.jobs if j.calendar not in held]
            return reconcile(known, _planned(jobs), present=present, held=held)
        vanished = {
            calendar: count
            for calendar, count in cursor.execute(
                "SELECT calendar, COUNT(*) FROM jobs WHERE state IN ('pending', 'sending') "
                "GROUP BY calendar"
            )
            if calendar not in present and calendar not in held
        }
        if not started:
            return Reconciliation(vanished=vanished)
        rows = {r[0]: r[1:] for r in started}
        # KNOWN_COLUMNS: key, calendar, post_id, account, part, network, state,
        # content_hash, sent_hash, ...; each `started` row has its rowid first.
        posts = {(r[1], r[2], r[3]) for r in rows.values()}  # calendar, post id, account
        for post in posts:
            for r in cursor.execute(
                f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs "
                "WHERE calendar = ? AND post_id = ? AND account = ?",
                post,
            ):
                rows[r[0]] = r[1:]
        # A sent row whose job left the plan may be inherited by a job that is the same
        # post (account, part, content; the time is compared once planned).
        keys = {j.key for j in project.jobs if j.calendar not in held}
        heirs = {
            (r[4], r[5], r[9] if r[7] in ("published", "scheduled") and r[9] else r[8])
            for r in started
            if r[1] not in keys and r[7] != "sending"
        }
        chosen = [
            j
            for j in project.jobs
            if j.calendar not in held
            and (
                (j.calendar, j.post_id, j.account) in posts
                or (j.account, j.part, j.content_hash) in heirs
            )
        ]
        known_keys = {r[0] for r in rows.values()}
        others = [j.key for j in chosen if j.key not in known_keys]
        for start in range(0, len(others), 500):
            batch = others[start : start + 500]
            for r in cursor.execute(
                f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs WHERE key IN "
                f"({','.join('?' * len(batch))})",
                batch,
            ):
                rows[r[0]] = r[1:]
    from cmctl.ledger.reconcile import Known

    known = [Known(*rows[rowid]) for rowid in sorted(rows)]  # the order of a full read
    found = reconcile(known, _planned(chosen), present=present, held=held)
    found.vanished = vanished
    return found


def _planned(jobs: list[Job]) -> list[Planned]:
    planned = []
    for job in jobs:
        with contextlib.suppress(OverflowError, ValueError):  # reported by validate
            planned.append(planned_job(job))
    return planned


def diagnostics(project: Project) -> list[Diagnostic]:
    found = findings(project)
    if found is None:
        return []
    by_post: dict[str, Job] = {}
    if found.held_posts or found.inserts:  # a pass over the plan builds every job
        for job in project.jobs:
            by_post.setdefault(job.post_key, job)
    out = []
    for post_key, why in sorted(found.held_posts.items()):
        first = by_post.get(post_key)
        if first is not None:
            pos = first.post.pos
            out.append(
                Diagnostic(
                    pos.path,
                    pos.line,
                    pos.col,
                    "error",
                    f"{post_key}: {why}",
                    "thread-shape",
                    "nothing of this post goes out until this is fixed",
                )
            )
    for planned, values, _event in found.inserts:
        if values["state"] in ("published", "unknown"):
            first = by_post.get(planned.post_key)
            if first is not None:
                pos = first.post.pos
                out.append(
                    Diagnostic(
                        pos.path,
                        pos.line,
                        pos.col,
                        "warning",
                        f"{planned.key} is a new identity for a post already sent "
                        f"({values['reason']}); it will not be sent again",
                        "identity-changed",
                        "set `calendar:` in a file before renaming it, and never rename a "
                        "post id: identities are what make cmctl post once",
                    )
                )
    config = project.config
    for name, count in sorted(found.vanished.items()):
        out.append(
            Diagnostic(
                config.display_path,
                1,
                1,
                "warning",
                f"calendar '{name}' is no longer in the project: its {count} scheduled job(s) "
                "are kept, not sent",
                "calendar-vanished",
                f"restore it, or cancel them on purpose with `cmctl cancel {name}`",
                frame=False,
            )
        )
    return out


@contextlib.contextmanager
def read_only(path: object) -> Iterator[sqlite3.Connection]:
    from pathlib import Path

    assert isinstance(path, Path)
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise LedgerError(f"{path} is not a usable cmctl ledger: {exc}") from None
    db.row_factory = sqlite3.Row
    try:
        yield db
    except sqlite3.Error as exc:
        raise LedgerError(
            f"{path} is not a usable cmctl ledger: {exc}",
            hint="restore it from a backup; never delete it while posts are scheduled",
        ) from None
    finally:
        db.close()
