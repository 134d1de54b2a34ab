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
from cmctl.ledger.reconcile import Reconciliation, reconcile
from cmctl.ledger.store import LEDGER_NAME, LedgerError, planned_job, read_known

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.config import Config
    from cmctl.project import Project


def has_ledger(config: Config) -> bool:
    return (config.state_dir / LEDGER_NAME).exists()


def foresee(project: Project) -> Reconciliation | None:
    """The reconciliation the next publish would apply, or None without a ledger."""
    path = project.config.state_dir / LEDGER_NAME
    if not path.exists():
        return None
    held_files = {d.path for d in project.report.items if d.severity == "error"}
    held = {c.name for c in project.calendars if c.display in held_files}
    present = {c.name for c in project.calendars}
    planned = []
    for job in project.jobs:
        if job.calendar in held:
            continue
        with contextlib.suppress(OverflowError, ValueError):  # reported by validate
            planned.append(planned_job(job))
    with _read_only(path) as db:
        known = read_known(db)
    return reconcile(known, planned, present=present, held=held)


def diagnostics(project: Project) -> list[Diagnostic]:
    found = foresee(project)
    if found is None:
        return []
    by_post: dict[str, Job] = {}
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
def _read_only(path: object) -> Iterator[sqlite3.Connection]:
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
