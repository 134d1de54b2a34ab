"""Spacing and blackouts: when posts may go out, read from cmctl.yaml.

- ``min_gap:`` (per account, or in ``defaults``): the least time between two posts to
  one account. ``validate`` warns where two are closer (rules.check_gaps); queue
  placement skips the slots that would break it (``Config.min_gap_for``).
- ``blackout:``: dates or inclusive ranges of dates, each with an optional reason, on
  which nothing may go out. A date is a local date: each calendar reads it in its own
  time zone. A dated post inside one is an error; recurring (and queued) posts skip it.

Pure and small: the config reads the YAML into these values (``read_blackouts``), the
calendar loader and the rules ask them. Imports only leaves (no calendar, no network).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cmctl import timeutil
from cmctl.diagnostics import Sink
from cmctl.yamlsrc import Map, Node, Scalar, Seq

# The JSON Schema of ``blackout:`` (its form; dates and order are checked by read_blackouts).
_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "x-hint": "write a date: 2027-01-01"}
BLACKOUT_SCHEMA: dict[str, object] = {
    "type": "array",
    "items": {
        "anyOf": [
            _DAY,
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["from"],
                "properties": {
                    "from": _DAY,
                    "to": _DAY,
                    "reason": {"type": "string", "minLength": 1},
                },
            },
        ]
    },
}


@dataclass(frozen=True, slots=True)
class Blackout:
    """Local dates ``start`` to ``end`` (inclusive) when nothing may go out."""

    start: date
    end: date
    reason: str | None = None
    line: int = 0  # where it is written in cmctl.yaml
    col: int = 0

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def dates(self) -> str:
        """``2027-01-01`` or ``2027-03-10 to 2027-03-12``."""
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def describe(self) -> str:
        """How messages name it: ``blackout 2027-03-10 to 2027-03-12 (product recall)``."""
        return f"blackout {self.dates}" + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True, slots=True)
class Blackouts:
    """Every blackout of the project, sorted by start; ``find`` is a binary search."""

    items: tuple[Blackout, ...] = ()
    _starts: tuple[date, ...] = field(default=(), repr=False, compare=False)
    _reach: tuple[date, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def of(cls, items: Iterable[Blackout]) -> Blackouts:
        ordered = tuple(sorted(items, key=lambda b: (b.start, b.end)))
        reach: list[date] = []  # the latest end of the blackouts up to each one
        for one in ordered:
            reach.append(max(one.end, reach[-1]) if reach else one.end)
        return cls(ordered, tuple(b.start for b in ordered), tuple(reach))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def find(self, day: date) -> Blackout | None:
        """The blackout ``day`` falls in (the latest starting when several do), or None."""
        index = bisect.bisect_right(self._starts, day)  # blackouts starting on or before day
        while index and self._reach[index - 1] >= day:  # one of the first `index` reaches it
            index -= 1
            if self.items[index].end >= day:
                return self.items[index]
        return None


def read_blackouts(node: Node | None, sink: Sink) -> Blackouts:
    """``blackout:`` (already shape-checked) → Blackouts; bad dates go to ``sink``."""
    if type(node) is not Seq:
        return Blackouts()
    found: list[Blackout] = []
    for index, item in enumerate(node.items):
        where = f"blackout[{index}]"
        if type(item) is Scalar:
            day = _day(item, where, sink)
            if day is not None:
                found.append(Blackout(day, day, None, item.line, item.col))
            continue
        if type(item) is not Map:
            continue
        start_node, end_node = item.get("from"), item.get("to")
        start = _day(start_node, f"{where}.from", sink)
        end = _day(end_node, f"{where}.to", sink) if end_node is not None else start
        if start is None or end is None:
            continue
        if end < start:
            assert end_node is not None
            sink.error(
                end_node.line,
                end_node.col,
                f"'{where}.to' ({end}) is before its 'from' ({start})",
                "blackout",
                "write the first day in 'from' and the last one in 'to'",
            )
            continue
        reason_node = item.get("reason")
        reason = str(reason_node.value).strip() if type(reason_node) is Scalar else None
        found.append(Blackout(start, end, reason or None, item.line, item.col))
    return Blackouts.of(found)


def _day(node: Node | None, where: str, sink: Sink) -> date | None:
    if type(node) is not Scalar:
        return None
    text = str(node.value).strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        sink.error(
            node.line, node.col, f"'{where}': '{text}' is not a date", "blackout", _DATE_HINT
        )
        return None
    if not timeutil.MIN_YEAR <= day.year <= timeutil.MAX_YEAR:
        sink.error(node.line, node.col, f"'{where}': {timeutil.RANGE_HINT}", "time-range")
        return None
    return day


_DATE_HINT = "write a date as YYYY-MM-DD, e.g. 2027-01-01, or {from: DATE, to: DATE, reason: TEXT}"


def too_close(times: Sequence[datetime], gap: timedelta) -> list[int]:
    """Indexes ``i`` of the sorted ``times`` that are less than ``gap`` after ``times[i-1]``.

    Comparing neighbours is enough: any two times closer than ``gap`` have every time
    between them closer still, so each close pair shows up as close neighbours."""
    return [i for i in range(1, len(times)) if times[i] - times[i - 1] < gap]
