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
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from cmctl.diagnostics import Diagnostic
from cmctl.ledger.reconcile import STARTED_SQL, Planned, Reconciliation, reconcile
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


def findings(project: Project) -> Reconciliation | None:
    """What `diagnostics` reports of ``foresee(project)`` (``findings_in``), or None
    without a ledger."""
    path = project.config.state_dir / LEDGER_NAME
    if not path.exists():
        return None
    held, present = _scope(project)
    with read_only(path) as db:
        return findings_in(
            db, lambda: (f for _, f in project.jobs.facts()), present=present, held=held
        )


Post = tuple[str, str, str]  # calendar, post id, account
Shown = tuple[str, int, str]  # account, part, the content the network has (or may have)


def findings_in(
    db: sqlite3.Connection,
    facts: Callable[[], Iterable[Any]],
    *,
    present: set[str] | frozenset[str],
    held: set[str] | frozenset[str],
    planned: Callable[[Any], Planned] = planned_job,
) -> Reconciliation:
    """What the full reconciliation of the plan (``facts()``: each job's key,
    calendar, post id, account, part and content hash, ``planned`` makes the rest)
    against every row finds, and `diagnostics` reports: the same held posts, the same
    inserts that inherit a sent job's state, the same vanished calendars. Its updates
    and other inserts are not worked out. It costs what there is to find, not what
    went out (a year where 64,000 of 106,000 jobs did):

    - a thread is held only when something of it may be online and something is not
      (a row not started, or a part the ledger has no row for yet): those posts alone
      are read whole, with their jobs;
    - only a new job (no row yet) inherits, and only from a started row whose key left
      the plan and that shows the same content: those jobs and rows alone are added;
    - the vanished calendars are a count by calendar.
    """
    cursor = db.cursor()
    cursor.row_factory = None
    online = STARTED_SQL
    vanished = {
        calendar: count
        for calendar, count in cursor.execute(
            "SELECT calendar, COUNT(*) FROM jobs WHERE state IN ('pending', 'sending') "
            "GROUP BY calendar"
        )
        if calendar not in present and calendar not in held
    }
    if cursor.execute(f"SELECT 1 FROM jobs WHERE {online} LIMIT 1").fetchone() is None:
        return Reconciliation(vanished=vanished)  # nothing may be online: nothing held
    posts: set[Post] = set(  # partly online by their rows
        cursor.execute(
            "SELECT calendar, post_id, account FROM jobs GROUP BY calendar, post_id, account "
            f"HAVING MAX({online}) = 1 AND MIN({online}) = 0"
        )
    )
    in_ledger = {key for (key,) in cursor.execute("SELECT key FROM jobs")}
    keys: set[str] = set()
    chosen: dict[str, tuple[int, Any]] = {}  # key -> (place in the plan, fact)
    fresh: dict[str, tuple[int, Any]] = {}  # the jobs with no row yet
    for place, fact in enumerate(facts()):
        if fact.calendar in held:
            continue
        keys.add(fact.key)
        if (fact.calendar, fact.post_id, fact.account) in posts:
            chosen[fact.key] = (place, fact)
        elif fact.key not in in_ledger:
            fresh[fact.key] = (place, fact)
    del in_ledger
    # posts partly online by the plan: a part with no row yet, after started ones
    fresh_posts = {(f.calendar, f.post_id, f.account) for _, f in fresh.values()}
    late = {
        post
        for post in cursor.execute(
            f"SELECT DISTINCT calendar, post_id, account FROM jobs WHERE {online}"
        )
        if post in fresh_posts
    }
    if late:  # their other parts: a second pass, for them alone
        posts |= late
        for place, fact in enumerate(facts()):
            if fact.calendar not in held and (fact.calendar, fact.post_id, fact.account) in late:
                chosen.setdefault(fact.key, (place, fact))
    # the started rows whose key left the plan and that show a new job's content
    fresh_shown = {(f.account, f.part, f.content_hash) for _, f in fresh.values()}
    heirs: list[str] = []
    shown: set[Shown] = set()
    for key, account, part, state, content_hash, sent_hash in cursor.execute(
        "SELECT key, account, part, state, content_hash, sent_hash FROM jobs "
        f"WHERE {online} AND state != 'scheduled'"
    ):
        on_line = sent_hash if state in ("published", "scheduled") and sent_hash else None
        what = (account, part, on_line or content_hash)
        if key not in keys and what in fresh_shown:
            heirs.append(key)
            shown.add(what)
    for key, (place, fact) in fresh.items():
        if (fact.account, fact.part, fact.content_hash) in shown:
            chosen.setdefault(key, (place, fact))
    rows: dict[int, tuple[Any, ...]] = {}
    for post in posts:
        for r in cursor.execute(
            f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs "
            "WHERE calendar = ? AND post_id = ? AND account = ?",
            post,
        ):
            rows[r[0]] = r[1:]
    for start in range(0, len(heirs), 500):
        batch = heirs[start : start + 500]
        for r in cursor.execute(
            f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs WHERE key IN ({','.join('?' * len(batch))})",
            batch,
        ):
            rows[r[0]] = r[1:]
    from cmctl.ledger.reconcile import Known

    known = [Known(*rows[rowid]) for rowid in sorted(rows)]  # the order of a full read
    jobs = []
    for _, fact in sorted(chosen.values(), key=lambda c: c[0]):  # (the plan's order)
        with contextlib.suppress(OverflowError, ValueError):  # reported by validate
            jobs.append(planned(fact))
    found = reconcile(known, jobs, present=present, held=held)
    found.vanished = vanished
    return found


def diagnostics(project: Project) -> list[Diagnostic]:
    found = findings(project)
    if found is None:
        return []
    wanted = set(found.held_posts) | {
        planned.post_key
        for planned, values, _event in found.inserts
        if values["state"] in ("published", "unknown")
    }
    by_post: dict[str, Job] = {}
    if wanted:  # a pass over the plan builds every job: only when something is to say
        for job in project.jobs:
            if job.post_key in wanted:
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
