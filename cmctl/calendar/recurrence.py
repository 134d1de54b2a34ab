"""Recurring posts: a post's ``repeat:`` → its occurrences, in the calendar's local time.

The calendar arithmetic is python-dateutil's ``rrule`` (RFC 5545); this module only reads
the two written forms into an rrule, expands it in naive local (wall-clock) time so that
09:30 stays 09:30 across DST changes, and then places each wall time in the zone:

- a wall time inside a DST gap moves to the first valid minute after the gap (``gap``
  is set: `validate` warns which dates);
- a wall time inside a DST overlap is the first of its two instants.

As in RFC 5545, ``at`` (DTSTART) is always the first occurrence, even when the rule
would not produce it, and ``count`` counts occurrences before ``except`` removes any.

An occurrence is identified by its post and its local date: ``weekly-tip~2027-01-04``
(see ``occurrence_id``). Post ids are slugs and never hold a ``~``, so the spelling is
unambiguous and parses back (``split_id``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from cmctl.calendar.model import SEPARATOR, describe, occurrence_id, split_id
from cmctl.timeutil import place_wall

__all__ = ["SEPARATOR", "describe", "occurrence_id", "split_id"]

# A rule with no end (no until, no count) is expanded this far ahead of now: more than a
# year, so a yearly post always has its next occurrence in the plan.
HORIZON = timedelta(days=400)
# A rule with no end may produce at most this many occurrences in any year (its first
# year from `at` is counted): more is refused, as a typo (every: day with 12 `on:` hours
# is not a thing cmctl posts). Bounded rules are limited by MAX_OCCURRENCES only.
MAX_PER_YEAR = 1000
MAX_OCCURRENCES = 10_000

_FREQS: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "day": du.DAILY,
    "week": du.WEEKLY,
    "month": du.MONTHLY,
    "year": du.YEARLY,
}
_EVERY = re.compile(r"^\s*(?:(\d+)\s+)?(day|week|month|year)s?\s*$")
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_NAMES = {
    **_DAYS,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_NTH = re.compile(r"^\s*(first|second|third|fourth|last)\s+([a-z]+)\s*$")
_WEEKDAYS = (du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU)


class RepeatProblem(ValueError):
    def __init__(self, message: str, hint: str | None = None, rule: str = "repeat") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Readable:
    """The readable form, as written (values already type-checked by the schema)."""

    every: str
    on: tuple[str | int, ...] = ()
    until: date | None = None
    count: int | None = None
    excluded: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """An rrule with what cmctl needs to know of its end (dateutil keeps it private)."""

    rrule: du.rrule
    count: int | None
    bounded: bool  # until or count given

    def __iter__(self) -> Iterator[datetime]:
        return iter(self.rrule)


@dataclass(slots=True)
class Occurrence:
    index: int  # n-th occurrence of the rule from `at` (0-based), before `except`
    local: datetime  # aware, in the calendar's zone
    utc: datetime  # aware, UTC
    gap: bool = False  # the wall time did not exist (DST gap): moved after it


@dataclass(slots=True)
class Expansion:
    occurrences: list[Occurrence] = field(default_factory=list)
    bounded: bool = True  # until or count given
    at_off_rule: bool = False  # `at` is not one the rule would produce (it still goes out)
    truncated: bool = False  # an unbounded rule, cut at the horizon


def readable_rule(spec: Readable, start: datetime) -> Rule:
    """The readable form as an rrule starting at the naive local ``start``."""
    m = _EVERY.match(spec.every.lower())
    if not m:
        raise RepeatProblem(
            f"'{spec.every}' is not a repeat interval",
            "write every: day, week, month, year, or '2 weeks', '3 months'...",
        )
    interval = int(m.group(1) or 1)
    if not 1 <= interval <= 1000:
        raise RepeatProblem(f"'{spec.every}': the interval must be between 1 and 1000")
    freq = _FREQS[m.group(2)]
    weekdays: list[du.weekday] = []
    monthdays: list[int] = []
    for item in spec.on:
        if isinstance(item, int):
            if not 1 <= item <= 31:
                raise RepeatProblem(f"on: {item} is not a day of the month (1 to 31)")
            monthdays.append(item)
            continue
        word = item.strip().lower()
        if word in _DAY_NAMES:
            weekdays.append(_WEEKDAYS[_DAY_NAMES[word]])
            continue
        nth = _NTH.match(word)
        if nth and nth.group(2) in _DAY_NAMES:
            weekdays.append(_WEEKDAYS[_DAY_NAMES[nth.group(2)]](_ORDINALS[nth.group(1)]))
            continue
        if word.isdigit() and 1 <= int(word) <= 31:
            monthdays.append(int(word))
            continue
        raise RepeatProblem(
            f"on: '{item}' is neither a weekday, a day of the month nor 'first tuesday'",
            "write mon, tue, wed, thu, fri, sat, sun; 1 to 31; or 'first tuesday', 'last friday'",
        )
    if any(w.n for w in weekdays) and freq not in (du.MONTHLY, du.YEARLY):
        raise RepeatProblem(
            "'first/last <weekday>' needs every: month or year", "write every: month"
        )
    if monthdays and freq in (du.DAILY, du.WEEKLY):
        raise RepeatProblem("days of the month need every: month or year", "write every: month")
    until = None
    if spec.until is not None:  # inclusive: the whole day
        until = datetime.combine(spec.until, datetime.max.time())
    if spec.until is not None and spec.count is not None:
        raise RepeatProblem("write until or count, not both")
    # every: year on '15' or 'last friday' means in the month of `at`
    month = start.month if freq == du.YEARLY and (monthdays or weekdays) else None
    made = du.rrule(
        freq,
        dtstart=start,
        interval=interval,
        bymonth=month,
        byweekday=weekdays or None,
        bymonthday=monthdays or None,
        until=until,
        count=spec.count,
    )
    return Rule(made, spec.count, until is not None or spec.count is not None)


def rrule_string(text: str, start: datetime, zone: ZoneInfo) -> Rule:
    """An RFC 5545 RRULE value (``RRULE:`` prefix optional) starting at naive ``start``.

    A UTC UNTIL (``...Z``) is turned into the zone's wall time, as RFC 5545 means it.
    """
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or "DTSTART" in body.upper():
        raise RepeatProblem(
            f"'{text}' is not an RRULE", "write e.g. FREQ=WEEKLY;BYDAY=MO (one rule, no DTSTART)"
        )
    parts = []
    until_local: datetime | None = None
    count: int | None = None
    bounded = False
    for part in body.split(";"):
        name, _, value = part.partition("=")
        if name.strip().upper() in ("UNTIL", "COUNT"):
            bounded = True
        if name.strip().upper() == "COUNT" and value.strip().isdigit():
            count = int(value)
        if name.strip().upper() == "UNTIL" and value.strip().upper().endswith("Z"):
            try:
                moment = datetime.strptime(value.strip().upper(), "%Y%m%dT%H%M%SZ")  # noqa: DTZ007
            except ValueError:
                raise RepeatProblem(f"UNTIL={value} is not a date-time") from None
            until_local = moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
            continue
        parts.append(part)
    try:
        rule = du.rrulestr(";".join(parts), dtstart=start, ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RepeatProblem(
            f"'{text}' is not a valid RRULE: {exc}", "see RFC 5545, section 3.3.10"
        ) from None
    if not isinstance(rule, du.rrule):
        raise RepeatProblem(f"'{text}' is not one RRULE")
    if until_local is not None:
        if count is not None:
            raise RepeatProblem("an RRULE has UNTIL or COUNT, not both")
        rule = rule.replace(until=until_local)
    return Rule(rule, count, bounded)


def wall_times(rule: Rule, start: datetime, end: datetime | None) -> tuple[list[datetime], bool]:
    """The rule's naive wall times, `start` first (RFC 5545: DTSTART is always one), up
    to ``end`` (naive, inclusive) when given; and whether ``start`` is off the rule."""
    first = rule.rrule.after(start, inc=True)
    off = first != start
    made: du.rrule | None = rule.rrule
    if off and rule.count is not None:  # COUNT counts DTSTART
        made = rule.rrule.replace(count=rule.count - 1) if rule.count > 1 else None
    times: list[datetime] = [start] if off else []
    if made is not None:
        for moment in made:
            if end is not None and moment > end:
                break
            times.append(moment)
            if len(times) > MAX_OCCURRENCES:
                break
    return times, off


def expand(
    rule: Rule,
    at_local: datetime,
    zone: ZoneInfo,
    excluded: tuple[date, ...],
    horizon_end: datetime,
) -> Expansion:
    """Every occurrence of ``rule`` from ``at_local`` (aware, in ``zone``): to its
    until/count, or to ``horizon_end`` (aware) for a rule with no end."""
    start = at_local.replace(tzinfo=None)
    bounded = rule.bounded
    end = None if bounded else horizon_end.astimezone(zone).replace(tzinfo=None)
    walls, off = wall_times(rule, start, end)
    out = Expansion(bounded=bounded, at_off_rule=off, truncated=not bounded)
    skip = set(excluded)
    for index, wall in enumerate(walls):
        if wall.date() in skip:
            continue
        local, gap = place_wall(wall, zone)
        out.occurrences.append(Occurrence(index, local, local.astimezone(UTC), gap))
    return out


def most_in_a_year(rule: Rule, start: datetime) -> int:
    """How many occurrences the rule gives in its first year from ``start`` (naive)."""
    end = (
        start.replace(year=start.year + 1)
        if not (start.month == 2 and start.day == 29)
        else (start.replace(year=start.year + 1, day=28))
    )
    count = 0
    for moment in rule:
        if moment >= end or count > MAX_PER_YEAR:
            break
        count += 1
    return count
