"""Time zones, local times across DST, and durations: cmctl reads them itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_AT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*(Z|[+-]\d{2}(?::?\d{2})?))?\Z"
)
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")

# The range cmctl computes with (docs/calendar-format.md, "Supported range"). Every
# date and duration a calendar, cmctl.yaml or an option may hold is checked against it
# where it is read, so nothing downstream can overflow: the latest moment cmctl ever
# computes is MAX_YEAR-12-31 23:59:59 (UTC-12) + MAX_DURATION + a few hours of grace,
# far inside Python's datetime range (year 9999).
MIN_YEAR = 2000
MAX_YEAR = 2199
MAX_DURATION = timedelta(days=365)
RANGE_HINT = f"cmctl works with dates from {MIN_YEAR} to {MAX_YEAR}"


class TimeProblem(ValueError):
    def __init__(self, message: str, hint: str | None = None, rule: str = "time") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.rule = rule


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or TimeProblem with a suggestion."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise TimeProblem(f"unknown time zone '{name}'", rule="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        import difflib
        from zoneinfo import available_timezones

        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "use an IANA name like Europe/Paris"
        raise TimeProblem(f"unknown time zone '{name}'", hint, "timezone") from None


@dataclass(frozen=True, slots=True)
class At:
    utc: datetime  # aware, UTC
    local: datetime  # aware, in the calendar's zone
    offset_mismatch: str | None = None  # explanation when a written offset is not the zone's


def parse_at(text: str, tz: ZoneInfo) -> At:
    """Read ``2026-12-01 09:30`` (local to ``tz``) or ISO 8601 with an offset."""
    m = _AT.match(text.strip())
    if not m:
        raise TimeProblem(
            f"'{text}' is not a date and time",
            "write it as 2026-12-01 09:30 (local time) or 2026-12-01T09:30+01:00",
        )
    year, month, day, hour, minute = (int(g) for g in m.group(1, 2, 3, 4, 5))
    second = int(m.group(6) or 0)
    _check_year(year, text)
    try:
        naive = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - zoned below
    except ValueError as exc:
        raise TimeProblem(f"'{text}' is not a valid date and time: {exc}") from None
    offset = m.group(7)
    if offset is not None:
        fixed = _offset(offset)
        if fixed is None:
            raise TimeProblem(f"'{offset}' is not a valid UTC offset", "write it as +01:00 or Z")
        moment = naive.replace(tzinfo=fixed)
        local = moment.astimezone(tz)
        mismatch = None
        if local.utcoffset() != moment.utcoffset():
            mismatch = (
                f"offset {_fmt_offset(moment.utcoffset())} is not {tz.key}'s offset at that time "
                f"({_fmt_offset(local.utcoffset())}); the post goes out at "
                f"{local:%Y-%m-%d %H:%M} {tz.key} time"
            )
        return At(moment.astimezone(UTC), local, mismatch)
    early = naive.replace(tzinfo=tz, fold=0)
    late = naive.replace(tzinfo=tz, fold=1)
    roundtrip = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:
        before = (early - timedelta(hours=3)).astimezone(tz)
        after = (early + timedelta(hours=3)).astimezone(tz)
        raise TimeProblem(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key}: clocks jump forward "
            f"(UTC{_fmt_offset(before.utcoffset())} to UTC{_fmt_offset(after.utcoffset())})",
            "pick a time outside the gap",
            "dst-gap",
        )
    if early.utcoffset() != late.utcoffset():
        iso = f"{naive:%Y-%m-%dT%H:%M}"
        raise TimeProblem(
            f"{naive:%Y-%m-%d %H:%M} happens twice in {tz.key}: clocks go back "
            f"(UTC{_fmt_offset(early.utcoffset())} then UTC{_fmt_offset(late.utcoffset())})",
            f"write the offset you mean: {iso}{_fmt_offset(early.utcoffset())} or "
            f"{iso}{_fmt_offset(late.utcoffset())}",
            "dst-overlap",
        )
    return At(early.astimezone(UTC), early)


def place_wall(wall: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """A naive wall time in ``zone``: (aware local time, whether it fell in a DST gap).

    A gap's wall time moves to the first valid minute after the gap; an overlap's is
    the first of its two instants (fold=0)."""
    early = wall.replace(tzinfo=zone, fold=0)
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return early, False
    # In a gap: the instant just after it is where the zone's later offset puts the wall
    # time (fold=1 reads it with the offset before the gap), then the minute it starts.
    probe = wall
    while True:
        probe = probe.replace(second=0, microsecond=0) + timedelta(minutes=1)
        candidate = probe.replace(tzinfo=zone)
        if candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == probe:
            return candidate, True


def _check_year(year: int, text: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TimeProblem(
            f"'{text.strip()}' is out of range: the year must be between {MIN_YEAR} and {MAX_YEAR}",
            RANGE_HINT,
            "time-range",
        )


def _offset(text: str) -> timezone | None:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _fmt_offset(delta: timedelta | None) -> str:
    total = int((delta or timedelta()).total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def parse_duration(value: str | int) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``2h30m``, ``1d``, ``0`` → timedelta."""
    if value == 0 or value == "0":
        return timedelta()
    m = _DURATION.match(str(value)) if isinstance(value, str) and value else None
    if not m or not any(m.groups()):
        raise TimeProblem(
            f"'{value}' is not a duration",
            "write a duration like 90s, 30m, 1h, 2h30m or 1d",
            "duration",
        )
    limit = int(MAX_DURATION.total_seconds())
    total = 0
    for group, size in zip(m.groups(), (86400, 3600, 60, 1), strict=True):
        if group:
            if len(group) > 12:  # more digits than any duration in range has
                total = limit + 1
                break
            total += int(group) * size
    if total > limit:
        raise TimeProblem(
            f"duration '{value}' is too long: cmctl accepts at most "
            f"{format_duration(MAX_DURATION)} (a year)",
            "write a duration like 90s, 30m, 1h, 2h30m or 1d, at most 365d",
            "duration-range",
        )
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def parse_bound(text: str, tz: ZoneInfo) -> datetime:
    """A --from/--to value: a date (start of that day) or a date and time, in ``tz``."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if m:
        _check_year(int(m.group(1)), text)
        try:
            day = datetime(int(m[1]), int(m[2]), int(m[3]))  # noqa: DTZ001 - zoned below
        except ValueError as exc:
            raise TimeProblem(f"'{text}' is not a valid date: {exc}") from None
        # midnight may not exist (DST at 00:00 in some zones): fold to the first instant
        return day.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    try:
        return parse_at(text, tz).local
    except TimeProblem as p:
        if p.rule in ("dst-gap", "dst-overlap", "time-range"):
            raise
        raise TimeProblem(f"'{text}' is not a date", "write it as 2026-12-01") from None
