"""Reconciliation: what the ledger must become for the compiled plan. Pure, no SQLite.

``reconcile(known, planned, ...)`` compares the ledger's rows (what cmctl knows was
planned, sent, decided) with the jobs the calendars compile to now, and returns the
changes: rows to insert, rows to update (each with its event), and what it refused
to touch and why. ``Ledger.sync`` applies them in one transaction.

The rules that keep the three promises:

- A published, sending, unknown or scheduled job never goes back to pending: an edit
  changes only its content hash (so `plan` can say "changed since"). A ``scheduled``
  job (the network holds it for its time: ``schedule: network``) also follows its new
  time; taking it back or keeping it in step takes network calls, so the publisher does
  that (cmctl/publish/handover.py), never the sync.
- A human decision (``decided_by = 'human'``: resolve, retry, cancel) is final;
  edits never undo it. Only a human reopens it.
- A job whose earlier attempt may have reached the network (``maybe_sent_at``) is
  never silently cancelled, drafted or forgotten: it becomes ``unknown``.
- A thread that has started going out keeps its parts where they were: a part
  inserted, removed or reordered before unsent parts would repost a sent part or
  lose an unsent one, so the whole post is held (nothing of it changes or goes out)
  with a message, until the calendar is put back in a shape cmctl can follow.
- Rows of a calendar that is no longer in the project at all (a file renamed or
  deleted, a glob that stopped matching) are kept as they are and reported: a
  calendar never disappears silently. ``cmctl cancel CALENDAR`` cancels on purpose.
- A new job that is the same post (account, part, time, content) as a sent job whose
  identity left the plan (a file renamed without ``calendar:``, a post id renamed)
  inherits that job's state instead of going out a second time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any

# States in which something may be online: never reopened, never cancelled quietly.
STARTED = frozenset({"published", "sending", "unknown", "scheduled"})
# ``Known.started`` as an SQL condition on the jobs table (the ledger's queries).
STARTED_SQL = (
    f"(state IN ({', '.join(repr(s) for s in sorted(STARTED))}) OR maybe_sent_at IS NOT NULL)"
)
REOPENABLE = frozenset({"pending", "skipped", "failed", "missed"})


# A row to insert: (the planned job, its column values, the event logged).
Insert = tuple["Planned", dict[str, Any], str]


# Known and Planned are read, never changed; not frozen, because a frozen dataclass sets
# each field through object.__setattr__: ten times the cost of a plain one (3 µs against
# 0.3 µs), and a sync makes one of each per job (106,000).
@dataclass(slots=True)
class Known:
    """What reconciliation needs of one ledger row."""

    key: str
    calendar: str
    post_id: str
    account: str
    part: int
    network: str
    state: str
    content_hash: str
    sent_hash: str | None
    scheduled_at: str  # UTC ISO, fixed width
    catch_up_s: int
    maybe_sent_at: str | None = None
    decided_by: str | None = None
    remote_id: str | None = None
    url: str | None = None
    remote_ref: str | None = None
    published_at: str | None = None

    @property
    def post_key(self) -> str:
        return f"{self.calendar}:{self.post_id}@{self.account}"

    @property
    def started(self) -> bool:
        """Something of this job may be online."""
        return self.state in STARTED or self.maybe_sent_at is not None

    @property
    def by_human(self) -> bool:
        """Set by a human (resolve, retry, cancel), or a consequence of such a decision."""
        return self.decided_by is not None and self.decided_by.startswith("human")

    @property
    def shown_hash(self) -> str:
        """The content the network has (or may have) for this job."""
        held = self.state in ("published", "scheduled")
        return self.sent_hash if held and self.sent_hash else self.content_hash


@dataclass(slots=True)
class Planned:
    """What reconciliation needs of one compiled job."""

    key: str
    calendar: str
    post_id: str
    account: str
    part: int
    network: str
    content_hash: str
    scheduled_at: str
    catch_up_s: int
    draft: bool
    queued: bool = False  # timed by a queue: a sent twin is found at any time

    @property
    def post_key(self) -> str:
        return f"{self.calendar}:{self.post_id}@{self.account}"


@dataclass(slots=True)
class Change:
    key: str
    values: dict[str, Any]
    event: str | None = None


@dataclass(slots=True)
class Reconciliation:
    inserts: MutableSequence[Insert] = field(default_factory=list)
    updates: list[Change] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "new": 0,
            "rescheduled": 0,
            "reopened": 0,
            "cancelled": 0,
            "drafts": 0,
            "inherited": 0,
            "held": 0,
        }
    )
    held_posts: dict[str, str] = field(default_factory=dict)  # post key -> why
    vanished: dict[str, int] = field(default_factory=dict)  # calendar -> jobs kept


def reconcile(
    known: Iterable[Known],
    planned: Iterable[Planned],
    *,
    present: set[str] | frozenset[str],
    held: set[str] | frozenset[str] = frozenset(),
) -> Reconciliation:
    """The changes that bring ``known`` in line with ``planned``.

    ``present``: the names of every calendar that was read (even with no posts);
    ``held``: calendars whose jobs are not in ``planned`` because they have errors.
    Rows of calendars in neither are kept as they are and reported as vanished.

    The work goes a calendar at a time (``Reconciling``), in ``calendars``' order:
    what ``Ledger.sync`` does with the ledger's rows read one calendar at a time.
    """
    rows = list(known)
    if not rows:
        return _all_new(Reconciliation(), planned)
    jobs = list(planned)
    run = Reconciling(inheritable(rows, {job.key for job in jobs}), present=present, held=held)
    jobs_of = by_calendar(jobs)
    owner = {job.key: job.calendar for job in jobs}
    rows_of = by_calendar(rows, lambda row: owner.get(row.key, row.calendar))
    for calendar in calendars(jobs_of, rows_of):
        run.calendar(rows_of.get(calendar, []), jobs_of.get(calendar, []))
    return run.out


def by_calendar(
    items: Iterable[Any], home: Callable[[Any], str] | None = None
) -> dict[str, list[Any]]:
    """Jobs or rows by calendar (``home(item)``, or its own), each calendar's in their
    order, calendars in the order of their first.

    A row goes with the job that has its key: a ledger's ``calendar`` column may have
    been edited by hand, and a job matched by anything but its key would be inserted a
    second time."""
    out: dict[str, list[Any]] = {}
    for item in items:
        calendar = item.calendar if home is None else home(item)
        found = out.get(calendar)
        if found is None:
            out[calendar] = [item]
        else:
            found.append(item)
    return out


def calendars(planned: Iterable[str], known: Iterable[str]) -> list[str]:
    """The order calendars are reconciled in: the plan's by name, then the ledger's
    others. By name, not as the jobs come (the sync takes them file by file, the
    previews in time order): two new identities of one sent post find the same heir."""
    order = dict.fromkeys(sorted(planned))
    order.update(dict.fromkeys(known))
    return list(order)


class Reconciling:
    """One reconciliation, a calendar at a time: ``calendar(rows, jobs)`` takes every
    ledger row and every planned job of one calendar, and adds their changes to ``out``
    (and returns them on their own, for the caller to apply before the next calendar).

    Nothing in one calendar's changes depends on another's rows, except a new identity
    inheriting a sent job's state (a file renamed): ``heirs`` (``inheritable``) holds
    those sent jobs, from every calendar, and each is inherited once.
    """

    def __init__(
        self,
        heirs: dict[tuple[str, int, str, str], Known],
        *,
        present: set[str] | frozenset[str],
        held: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.heirs = heirs
        self.present = present
        self.held = held
        self.out = Reconciliation()

    def calendar(self, known: Sequence[Known], jobs: Sequence[Planned]) -> Reconciliation:
        out = self.out
        part = Reconciliation(stats=out.stats)
        rows = {k.key: k for k in known}
        by_post: dict[str, list[Planned]] = defaultdict(list)
        for job in jobs:
            by_post[job.post_key].append(job)
        rows_by_post: dict[str, dict[int, Known]] = defaultdict(dict)
        for row in rows.values():
            rows_by_post[row.post_key][row.part] = row

        held_posts = part.held_posts
        for post_key, post_jobs in by_post.items():
            why = _thread_conflict(rows_by_post.get(post_key, {}), post_jobs)
            if why is not None:
                held_posts[post_key] = why
                part.stats["held"] += 1

        for job in jobs:
            if job.post_key in held_posts:
                continue
            current = rows.get(job.key)
            if current is None:
                _insert(part, job, self.heirs)
            else:
                _update(part, current, job)

        seen = {job.key for job in jobs}
        for key, row in rows.items():
            if key in seen or row.post_key in held_posts:
                continue
            if row.calendar in self.held:
                continue  # its calendar has errors: a typo never cancels posts
            if row.calendar not in self.present:
                if row.state in ("pending", "sending"):
                    part.vanished[row.calendar] = part.vanished.get(row.calendar, 0) + 1
                continue
            if row.state != "pending":  # (a human's "send it" ends with its post too)
                continue
            if row.maybe_sent_at is not None:  # it may be online: never forget it quietly
                part.updates.append(
                    Change(
                        key,
                        {
                            "state": "unknown",
                            "next_attempt_at": None,
                            "reason": "removed from the calendar after an attempt that may "
                            "have been published",
                        },
                        "unknown: removed after an ambiguous attempt",
                    )
                )
                continue
            part.updates.append(
                Change(
                    key,
                    {
                        "state": "skipped",
                        "reason": "removed from the calendar",
                        "next_attempt_at": None,
                    },
                    "cancelled: removed from the calendar",
                )
            )
            part.stats["cancelled"] += 1
        out.inserts.extend(part.inserts)
        out.updates.extend(part.updates)
        out.held_posts.update(held_posts)
        for calendar, count in part.vanished.items():
            out.vanished[calendar] = out.vanished.get(calendar, 0) + count
        return part


def _all_new(out: Reconciliation, planned: Iterable[Planned]) -> Reconciliation:
    """An empty ledger (a first sync): nothing started, held, inherited or cancelled;
    every job is a plain insert (a draft skipped), in the plan's order. What the general
    path gives then, at a fraction of its cost (106,000 jobs)."""
    jobs = planned if isinstance(planned, list) else list(planned)
    out.inserts = AllNew(jobs)
    drafts = sum(1 for job in jobs if job.draft)
    out.stats["drafts"] = drafts
    out.stats["new"] = len(jobs) - drafts
    return out


class AllNew(MutableSequence["Insert"]):
    """Every planned job as a plain insert (``_all_new``), each (job, values, event)
    made as it is read: the 106,000 triples of a first sync are never all held."""

    def __init__(self, jobs: list[Planned]) -> None:
        self._jobs = jobs

    @staticmethod
    def _of(job: Planned) -> Insert:
        return (job, _DRAFT if job.draft else _NEW, "planned")

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Insert]:
        return map(self._of, self._jobs)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._of(job) for job in self._jobs[index]]
        return self._of(self._jobs[index])

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("the inserts of a first sync are read, never changed")

    def __delitem__(self, index: Any) -> None:
        raise TypeError("the inserts of a first sync are read, never changed")

    def insert(self, index: int, value: Insert) -> None:
        raise TypeError("the inserts of a first sync are read, never changed")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def _insert(
    out: Reconciliation, job: Planned, heirs: dict[tuple[str, int, str, str], Known]
) -> None:
    twin = (
        None
        if job.draft
        else heirs.pop((job.account, job.part, job.scheduled_at, job.content_hash), None)
    )
    if twin is None and job.queued and not job.draft:  # its time is the queue's: any time
        twin = heirs.pop((job.account, job.part, ANY_TIME, job.content_hash), None)
    if twin is not None:  # inherited once, whichever way it was found
        heirs.pop((twin.account, twin.part, twin.scheduled_at, twin.shown_hash), None)
        heirs.pop((twin.account, twin.part, ANY_TIME, twin.shown_hash), None)
    if twin is not None:  # the same post under a new identity: never twice
        if twin.state == "published":
            values: dict[str, Any] = {
                "state": "published",
                "reason": f"already published as {twin.key}",
                "remote_id": twin.remote_id,
                "url": twin.url,
                "remote_ref": twin.remote_ref,
                "sent_hash": twin.sent_hash,
                "published_at": twin.published_at,
            }
        else:
            values = {
                "state": "unknown",
                "maybe_sent_at": twin.maybe_sent_at,
                "reason": f"the same post as {twin.key}, which may have been "
                "published; settle it with `cmctl resolve`",
            }
        out.inserts.append(
            (
                job,
                values,
                f"same post as {twin.key} (renamed?): {values['state']}, never sent again",
            )
        )
        out.stats["inherited"] += 1
        return
    if job.draft:
        out.inserts.append((job, _DRAFT, "planned"))
        out.stats["drafts"] += 1
    else:
        out.inserts.append((job, _NEW, "planned"))
        out.stats["new"] += 1


# The values of a plain insert, one dict for all of them (100,000 inserts: ~20 MB less);
# read, never changed.
_NEW: dict[str, Any] = {"state": "pending", "reason": None}
_DRAFT: dict[str, Any] = {"state": "skipped", "reason": "draft"}


def _update(out: Reconciliation, row: Known, job: Planned) -> None:
    values: dict[str, Any] = {}
    moved = row.scheduled_at != job.scheduled_at
    edited = row.content_hash != job.content_hash
    if edited:
        values["content_hash"] = job.content_hash
    event = None
    if row.state == "scheduled" and not row.by_human:
        # the network holds it: the publisher moves it there too (scheduled_at is the
        # calendar's time, network_at the network's)
        if moved:
            values["scheduled_at"] = job.scheduled_at
            event = f"moved from {row.scheduled_at} (to be kept in step on the network)"
            out.stats["rescheduled"] += 1
        if row.catch_up_s != job.catch_up_s:
            values["catch_up_s"] = job.catch_up_s
    if row.state in REOPENABLE and not row.by_human:
        if moved:
            values["scheduled_at"] = job.scheduled_at
        if row.catch_up_s != job.catch_up_s:
            values["catch_up_s"] = job.catch_up_s
        if row.network != job.network:  # the account now points at another network
            values["network"] = job.network
            event = f"account '{job.account}' moved from {row.network} to {job.network}"
        state = row.state
        if job.draft and state != "skipped" and row.maybe_sent_at:
            values.update(
                state="unknown",
                next_attempt_at=None,
                reason=("turned into a draft after an attempt that may have been published"),
            )
            event = "unknown: drafted after an ambiguous attempt"
        elif job.draft and state != "skipped":
            values.update(state="skipped", reason="draft", next_attempt_at=None)
            event = "draft"
            out.stats["drafts"] += 1
        elif not job.draft and state == "skipped" and row.maybe_sent_at is None:
            values.update(
                state="pending", reason=None, attempts=0, next_attempt_at=None, deadline=None
            )
            event = "restored"
            out.stats["reopened"] += 1
        elif not job.draft and state == "failed" and (edited or moved):
            values.update(
                state="pending", reason=None, attempts=0, next_attempt_at=None, deadline=None
            )
            event = "reopened after an edit"
            out.stats["reopened"] += 1
        elif not job.draft and state == "missed" and moved:
            values.update(
                state="pending", reason=None, attempts=0, next_attempt_at=None, deadline=None
            )
            event = "rescheduled"
            out.stats["reopened"] += 1
        elif state == "pending" and moved:
            values.update(next_attempt_at=None, deadline=None)
            event = f"rescheduled from {row.scheduled_at}"
            out.stats["rescheduled"] += 1
    if values:
        out.updates.append(Change(row.key, values, event))


# A queued post's new identity takes another slot than its old one: its twin is found
# by account, part and text alone.
ANY_TIME = "*"


def inheritable(
    rows: Iterable[Known], seen: set[str] | frozenset[str]
) -> dict[tuple[str, int, str, str], Known]:
    """Sent (or maybe sent) rows whose identity left the plan (their key not in
    ``seen``), by what they are. Only started rows count: a caller may pass those alone."""
    heirs: dict[tuple[str, int, str, str], Known] = {}
    for row in rows:
        # (a scheduled job that left the plan is taken back by the publisher, and the
        # new identity handed over anew: nothing to inherit; a job being sent, or whose
        # sender died, may be online: its new identity is unknown until a human looks)
        if row.key not in seen and row.started and row.state != "scheduled":
            heirs.setdefault((row.account, row.part, row.scheduled_at, row.shown_hash), row)
            heirs.setdefault((row.account, row.part, ANY_TIME, row.shown_hash), row)
    return heirs


def _thread_conflict(rows: dict[int, Known], jobs: list[Planned]) -> str | None:
    """Why this post's parts cannot be matched to what already went out, or None."""
    if not any(row.started for row in rows.values()):
        return None  # nothing online yet: any edit is safe
    new = {job.part: job.content_hash for job in jobs}
    to_send = [p for p in new if p not in rows or not rows[p].started]
    if not to_send and all(row.started for row in rows.values()):
        return None  # all of it is out and nothing new: edits of sent parts are harmless
    for part, digest in sorted(new.items()):
        row = rows.get(part)
        if row is not None and row.shown_hash == digest:
            continue  # unchanged at its place
        for other, other_row in sorted(rows.items()):
            if other == part or other_row.shown_hash != digest:
                continue
            # a sent part moved (it would go out again), or an unsent one moved onto a
            # sent place (it would never go out)
            if other_row.started or part in to_send or (row is not None and row.started):
                return (
                    f"part #{part} now has the text of part #{other}, and the thread "
                    "has started going out: parts were inserted, removed or "
                    "reordered, which would repost a part or lose one; put them "
                    "back, and add new parts at the end only"
                )
    changed = [
        p for p, row in rows.items() if row.started and p in new and row.shown_hash != new[p]
    ]
    if changed and len(new) != len(rows):
        return (
            f"part(s) {', '.join(f'#{p}' for p in changed)} already went out and now "
            "have another text while the number of parts changed: cmctl cannot tell "
            "an edit from an inserted part; keep the sent parts' text, and add new "
            "parts at the end only"
        )
    return None
