"""Queues: posts written without a time take the next free slot of a named queue.

cmctl.yaml declares the queues (``queues: {weekdays: {timezone: Europe/Paris, slots:
["mon-fri 09:00", "mon-fri 12:30"], accounts: [brand-x]}}``); a post says ``queue:
weekdays`` (and optionally ``after: 2027-01-11``) instead of ``at:``.

Placement (``place``) is a pure function of the queued posts, in the order they appear
across calendars, of what the ledger remembers of them, and of now:

- a post something of went out (or was handed to the network), or whose recorded slot
  has come, keeps the time the ledger has for it: it is pinned. A post whose slot has
  come is due now (or missed, past its catch-up window), never pushed to a later slot;
- every other approved post takes, in order, the first slot from now (and from its ``after``
  day) that is free for each of its accounts: a slot holds one post per account. Slots
  that fall on a blackout day, or closer to another post of the account than its
  ``min_gap``, are skipped. A recorded slot on a day blacked out since does not pin its
  post if nothing of it went out (its slot has come, or the network holds it for
  later, ``schedule: network``): it takes the next free slot;
- drafts then take, in order, the slots left: they never hold a slot an approved post
  wants (one ahead would jump to the next slot each time its own came, and the posts
  behind never go out). Approving a draft places it where it is written: the posts
  after it move;
- a post cancelled (``cmctl cancel``) for all its accounts keeps the time the ledger
  has for it and takes no slot (``Placed.cancelled``).

A slot whose wall time falls in a DST gap that day moves after the gap; the post placed
there says so (``Placed.gap``: the slot's wall time), for a ``dst-gap`` warning.

So inserting a post before others moves the later ones to later slots, never to
earlier ones that have passed; a post's recorded slot (the ledger's time) that differs
from its new one is reported as a move.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from cmctl.timeutil import MAX_YEAR, place_wall
from cmctl.timeutil import zone as get_zone

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLOT = re.compile(r"^\s*(?:(?P<days>[a-z,\- ]+?)\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})\s*$")
_EVERY_DAY = frozenset(range(7))
# How far ahead a post looks for a free slot before placement gives up (and says so).
HORIZON = timedelta(days=731)
# States in which something of a job went out, or may have: its post keeps its time.
STARTED = frozenset({"sending", "published", "unknown", "scheduled"})
# The ledger's reason for a job skipped by `cmctl cancel` (cmctl/cancel.py).
CANCELLED = "cancelled by hand"


class SlotProblem(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Slot:
    days: frozenset[int]  # 0 = Monday
    at: time
    text: str  # as written


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    timezone: str
    slots: tuple[Slot, ...]
    accounts: tuple[str, ...] = ()

    def times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The slots' instants (aware, UTC) from ``start`` to ``end`` (both included),
        in order; a slot's wall time in a DST gap moves to the first minute after the
        gap, one in an overlap is the first of its two instants."""
        zone = get_zone(self.timezone)
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        while day <= last:
            weekday = day.weekday()
            seen: set[datetime] = set()
            for clock in sorted({s.at for s in self.slots if weekday in s.days}):
                local, _gap = place_wall(datetime.combine(day, clock), zone)
                moment = local.astimezone(UTC)
                if moment in seen or moment < start or moment > end:
                    continue
                seen.add(moment)
                yield moment
            day += timedelta(days=1)

    def in_gap(self, moment: datetime) -> time | None:
        """The wall time of the slot that ``moment`` is, when that wall time fell in a DST
        gap that day (and moved to ``moment``, the first minute after the gap); else None."""
        zone = get_zone(self.timezone)
        local = moment.astimezone(zone)
        day = local.date()
        if any(s.at == local.time() and day.weekday() in s.days for s in self.slots):
            return None
        for clock in sorted({s.at for s in self.slots if day.weekday() in s.days}):
            placed, gap = place_wall(datetime.combine(day, clock), zone)
            if gap and placed == local:
                return clock
        return None


def parse_slot(text: str) -> Slot:
    """``"mon-fri 09:00"``, ``"sat,sun 10:30"``, ``"daily 08:00"`` or ``"12:30"`` (every
    day): one time per slot string."""
    m = _SLOT.match(text.lower())
    if m is None:
        raise SlotProblem(f"slot '{text}' is not days and a time (write it as \"mon-fri 09:00\")")
    hour, minute = int(m["h"]), int(m["m"])
    if hour > 23 or minute > 59:
        raise SlotProblem(f"slot '{text}': {hour:02d}:{minute:02d} is not a time of day")
    days_text = (m["days"] or "").strip()
    days: set[int] = set()
    if days_text in ("", "daily", "every day", "everyday"):
        days = set(_EVERY_DAY)
    else:
        for piece in (p.strip() for p in days_text.split(",")):
            first, dash, last = piece.partition("-")
            names = [first.strip()[:3], last.strip()[:3]] if dash else [piece[:3]]
            if not piece or any(n not in _DAYS for n in names):
                raise SlotProblem(
                    f"slot '{text}': '{piece}' is not a day or a range of days "
                    "(mon, tue, wed, thu, fri, sat, sun; mon-fri; sat,sun; daily)"
                )
            a, b = _DAYS.index(names[0]), _DAYS.index(names[-1])
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return Slot(frozenset(days), time(hour, minute), text)


class Waiting(NamedTuple):
    """A queued post, as placement sees it (in the order posts appear across calendars)."""

    calendar: str
    post_id: str
    queue: str
    accounts: tuple[str, ...]
    after: date | None
    draft: bool = False


class Remembered(NamedTuple):
    """What the ledger has of one of a queued post's jobs (its first part)."""

    state: str
    at: datetime  # the time it was synced with (aware)
    cancelled: bool = False  # skipped by `cmctl cancel` (a draft is skipped too)


class Placed(NamedTuple):
    at: datetime  # aware, UTC
    moved_from: datetime | None  # the slot the ledger had for it, when it moved
    pinned: bool  # kept its recorded time (something went out, or its slot has come)
    # The slot's wall time when it falls in a DST gap that day (the post moved after it).
    gap: time | None = None
    cancelled: bool = False  # cancelled for all its accounts: keeps its time, takes no slot


class Unplaced(NamedTuple):
    reason: str


def post_key(calendar: str, post_id: str, account: str) -> str:
    return f"{calendar}:{post_id}@{account}"


def place(
    waiting: Sequence[Waiting],
    queues: Mapping[str, Queue],
    remembered: Mapping[str, Remembered],
    now: datetime,
    *,
    others: Mapping[str, Sequence[datetime]] | None = None,
    min_gap: Callable[[str], timedelta | None] = lambda account: None,
    blackout: Callable[[date], object | None] = lambda day: None,
    horizon: timedelta = HORIZON,
    remember_full: bool = True,
) -> dict[tuple[str, str], Placed | Unplaced]:
    """Each queued post's time, keyed by (calendar, post id): see the module's doc.

    ``remembered``: by job key (``calendar:post@account``), what the ledger has;
    ``others``: by account, the times of its posts that are not queued (for
    ``min_gap``); ``blackout(day)``: whether nothing may go out on that local day.
    ``remember_full=False`` is the slower search of before (benchmarks/queues.py).
    """
    out: dict[tuple[str, str], Placed | Unplaced] = {}
    # By account, the sorted times of its posts: dated, pinned and placed so far. A slot
    # holds one post per account: one at the slot's very minute fills it.
    taken: dict[str, list[datetime]] = {a: sorted(t) for a, t in (others or {}).items()}
    free: list[Waiting] = []
    drafts: list[Waiting] = []
    for post in waiting:
        queue = queues.get(post.queue)
        zone = get_zone(queue.timezone) if queue is not None else UTC
        known = [
            r
            for r in (
                remembered.get(post_key(post.calendar, post.post_id, a)) for a in post.accounts
            )
            if r is not None
        ]
        pins = [r.at for r in known if _pinned(r, now, blackout(r.at.astimezone(zone).date()))]
        if not pins:
            cancelled = bool(known) and len(known) == len(post.accounts)
            if cancelled and all(r.state == "skipped" and r.cancelled for r in known):
                # Cancelled for all its accounts: it keeps its recorded time, takes no slot.
                out[(post.calendar, post.post_id)] = Placed(
                    min(r.at for r in known), None, False, cancelled=True
                )
                continue
            # A draft waits behind the others.
            (drafts if post.draft else free).append(post)
            continue
        at = min(pins)
        out[(post.calendar, post.post_id)] = Placed(at, None, True)
        for account in post.accounts:
            bisect.insort(taken.setdefault(account, []), at)
    # By queue and accounts (and ``after``, without ``remember_full``), the stretches of
    # time proven to hold no slot for them: placement only ever fills slots, so a stretch
    # once full stays full, and a later search skips it (or fails at once when it covers
    # its whole window). A search from ``first`` that takes slot ``c`` proves [first, c].
    full: dict[tuple[object, ...], _Stretches] = {}
    for post in [*free, *drafts]:
        queue = queues.get(post.queue)
        if queue is None or not queue.slots:
            out[(post.calendar, post.post_id)] = Unplaced(f"queue '{post.queue}' has no slots")
            continue
        zone = get_zone(queue.timezone)
        start = now
        if post.after is not None:
            start = max(start, datetime.combine(post.after, time(), zone).astimezone(UTC))
        # never past the last day cmctl handles (timeutil.MAX_YEAR), in the queue's zone
        last = datetime(MAX_YEAR, 12, 31, 23, 59, tzinfo=zone).astimezone(UTC)
        end = min(start + horizon, last)
        key: tuple[object, ...] = (post.queue, post.accounts)
        if not remember_full:
            key = (*key, post.after)
        known_full = full.setdefault(key, _Stretches())
        chosen = None
        gaps = {a: min_gap(a) for a in post.accounts}
        first = known_full.skip(start)
        while chosen is None and first <= end:
            stop = min(end, known_full.next_start(first) - _TICK)
            for moment in queue.times(first, stop):
                if any(_filled(taken.get(a, ()), moment) for a in post.accounts):
                    continue
                if blackout(moment.astimezone(zone).date()) is not None:
                    continue
                if any(_too_close(taken.get(a, ()), moment, g) for a, g in gaps.items() if g):
                    continue
                chosen = moment
                break
            else:
                first = known_full.skip(stop + _TICK)
        if chosen is None:
            if remember_full:
                known_full.add(start, end + _TICK)
            within = (
                f"within {horizon.days} days of {start.astimezone(zone):%Y-%m-%d}"
                if end < last
                else f"from {start.astimezone(zone):%Y-%m-%d} to {MAX_YEAR}-12-31, the last "
                "day cmctl handles"
            )
            out[(post.calendar, post.post_id)] = Unplaced(
                f"queue '{post.queue}' has no free slot for post '{post.post_id}' {within}"
            )
            continue
        known_full.add(start, chosen + _TICK)
        recorded = [
            r.at
            for r in (
                remembered.get(post_key(post.calendar, post.post_id, a)) for a in post.accounts
            )
            if r is not None and r.state == "pending"
        ]
        moved = min(recorded) if recorded and min(recorded) != chosen else None
        out[(post.calendar, post.post_id)] = Placed(chosen, moved, False, queue.in_gap(chosen))
        for account in post.accounts:
            bisect.insort(taken.setdefault(account, []), chosen)
    return out


# The least step between two instants: [a, b] is the half-open [a, b + _TICK).
_TICK = timedelta(microseconds=1)
_NEVER = datetime.max.replace(tzinfo=UTC)


class _Stretches:
    """Disjoint half-open stretches of time [lo, hi), sorted, touching ones merged."""

    __slots__ = ("hi", "lo")

    def __init__(self) -> None:
        self.lo: list[datetime] = []
        self.hi: list[datetime] = []

    def skip(self, moment: datetime) -> datetime:
        """The first instant from ``moment`` on that no stretch holds."""
        i = bisect.bisect_right(self.lo, moment) - 1
        return self.hi[i] if i >= 0 and self.hi[i] > moment else moment

    def next_start(self, moment: datetime) -> datetime:
        """Where the first stretch after ``moment`` begins (far in the future: none)."""
        i = bisect.bisect_right(self.lo, moment)
        return self.lo[i] if i < len(self.lo) else _NEVER

    def add(self, lo: datetime, hi: datetime) -> None:
        i = bisect.bisect_left(self.hi, lo)  # the first stretch ending at lo or after
        j = bisect.bisect_right(self.lo, hi)  # past the last one starting at hi or before
        if i < j:
            lo, hi = min(lo, self.lo[i]), max(hi, self.hi[j - 1])
        self.lo[i:j] = [lo]
        self.hi[i:j] = [hi]


def gap_message(post_id: str, local: datetime, wall: time) -> str:
    """The ``dst-gap`` warning of a post placed at ``local`` for a slot at ``wall``."""
    return (
        f"queue slot {wall:%H:%M} does not exist in {local.tzinfo} on {local:%Y-%m-%d} "
        f"(clocks jump forward): post '{post_id}' goes out at {local:%H:%M} then"
    )


def _pinned(r: Remembered, now: datetime, blacked: object | None) -> bool:
    """Whether a post keeps the time the ledger has for this job: something of it went
    out (or may have), or its slot has come. A day blacked out since it was placed
    releases it if nothing went out: a slot that has come, or one the network holds
    (``schedule: network``: the hand-over is moved with it) and that has not come."""
    if r.state == "skipped":
        return False
    if r.state == "scheduled":
        return r.at <= now or blacked is None
    return r.state in STARTED or (r.at <= now and blacked is None)


def _filled(times: Sequence[datetime], moment: datetime) -> bool:
    i = bisect.bisect_left(times, moment)
    return i < len(times) and times[i] == moment


def _too_close(times: Sequence[datetime], moment: datetime, gap: timedelta) -> bool:
    """Whether another post in ``times`` (sorted) is less than ``gap`` from ``moment``."""
    i = bisect.bisect_right(times, moment - gap)
    return i < len(times) and times[i] < moment + gap
