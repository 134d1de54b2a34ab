"""What one CSV row says about one post, before it becomes calendar YAML.

A format module (buffer, hootsuite, generic) turns a ``Table`` into ``Draft``s and
``Problem``s; ``build`` turns the drafts into a calendar and validates it. Each value
keeps the ``Cell`` it came from, so a problem found anywhere points at the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal

from cmctl.importing.reader import Cell, Record

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # where to point (a cell's place)
    col: int
    severity: Severity
    message: str
    record: int | None = None  # the start line of the row it concerns (None: the file)


@dataclass(slots=True)
class Draft:
    record: Record
    day: date
    clock: time
    when: Cell  # the date cell (or the date-and-time cell)
    text: Cell
    id: Cell | None = None
    zone: Cell | None = None  # a per-row time zone (generic format)
    accounts: Cell | None = None
    link: Cell | None = None
    media: list[tuple[str, str | None]] = field(default_factory=list)  # (path, alt)
    media_cell: Cell | None = None


@dataclass(slots=True)
class Parsed:
    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def error(self, where: Cell | Record, message: str, record: Record) -> None:
        line, col = (where.line, where.col) if isinstance(where, Cell) else (where.line, 1)
        self.problems.append(Problem(line, col, "error", message, record.line))

    def warning(self, where: Cell, message: str, record: Record) -> None:
        self.problems.append(Problem(where.line, where.col, "warning", message, record.line))

    def note(self, message: str, line: int = 1, col: int = 1) -> None:
        self.problems.append(Problem(line, col, "note", message))


class BadValue(ValueError):
    """A cell that does not hold what its column promises."""


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\Z")


def iso_date(text: str) -> tuple[date, time | None]:
    """``YYYY-MM-DD``, optionally followed by `` HH:MM`` (24 h; seconds allowed, dropped)."""
    m = _ISO.match(text.strip())
    if not m:
        raise BadValue(f"'{text}' is not a date (write it as YYYY-MM-DD)")
    return _date(int(m[1]), int(m[2]), int(m[3]), text), _clock(m[4], m[5], text)


def slashed_date(text: str, *, day_first: bool) -> tuple[date, time | None]:
    """``MM/DD/YYYY HH:mm`` (or ``DD/MM/YYYY HH:mm`` when ``day_first``), 24 h."""
    m = _SLASHED.match(text.strip())
    shape = "DD/MM/YYYY HH:mm" if day_first else "MM/DD/YYYY HH:mm"
    if not m:
        raise BadValue(f"'{text}' is not a date and time (write it as {shape}, 24-hour)")
    first, second = int(m[1]), int(m[2])
    month, day = (second, first) if day_first else (first, second)
    if month > 12 and day <= 12:
        other = "without --day-first" if day_first else "with --day-first"
        raise BadValue(f"'{text}' has no month {month} (read as {shape}; import {other}?)")
    return _date(int(m[3]), month, day, text), _clock(m[4], m[5], text)


def clock(text: str) -> time:
    m = _TIME.match(text.strip())
    if not m:
        raise BadValue(f"'{text}' is not a time (write it as HH:MM, 24-hour)")
    found = _clock(m[1], m[2], text)
    assert found is not None
    return found


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise BadValue(f"'{text}' is not a valid date: {exc}") from None


def _clock(hour: str | None, minute: str | None, text: str) -> time | None:
    if hour is None or minute is None:
        return None
    if int(hour) > 23 or int(minute) > 59:
        raise BadValue(f"'{text}' is not a valid time of day (24-hour clock, 00:00 to 23:59)")
    return time(int(hour), int(minute))


def names(text: str) -> list[str]:
    """Account names separated by spaces or commas."""
    return [n for n in re.split(r"[\s,]+", text.strip()) if n]


def pieces(text: str) -> list[str]:
    """Several media paths (or alt texts) in one cell, separated by `` | ``."""
    return [p.strip() for p in text.split(" | ")] if text.strip() else []


def is_url(text: str) -> bool:
    return re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", text) is not None


def attach_media(
    parsed: Parsed, draft: Draft, media: Cell | None, alt: Cell | None, record: Record
) -> None:
    """The row's media (paths relative to the new calendar file, `` | ``-separated) and
    their alt texts, paired in order. A URL is left out with a warning: a calendar's
    media are files of the project (download it, then add its path)."""
    paths = pieces(media.value) if media is not None else []
    alts = pieces(alt.value) if alt is not None else []
    if alt is not None and len(alts) > len(paths):
        parsed.error(alt, f"{len(alts)} alt texts for {len(paths)} media", record)
        return
    draft.media_cell = media
    for index, path in enumerate(paths):
        assert media is not None
        if is_url(path):
            parsed.warning(
                media,
                f"media '{path}' is a URL: not imported (download it into the project "
                "and add its path to the post)",
                record,
            )
            continue
        text = alts[index] if index < len(alts) and alts[index] else None
        draft.media.append((path, text))


def header_index(record: Record) -> dict[str, int]:
    """A header row's column names (stripped, lowercased) → their index."""
    found: dict[str, int] = {}
    for index, cell in enumerate(record.cells):
        found.setdefault(cell.value.strip().lower(), index)
    return found
