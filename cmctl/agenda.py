"""The agenda view model: jobs grouped into a week or month grid of local days."""

from __future__ import annotations

import calendar as cal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cmctl.compile import Job


@dataclass(slots=True)
class Entry:
    time: str  # HH:MM local
    post: str
    networks: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    draft: bool = False
    parts: int = 1
    text: str = ""
    jobs: list[Job] = field(default_factory=list)  # every job of the post that day, plan order


@dataclass(slots=True)
class Grid:
    title: str
    weeks: list[list[date]]  # rows of 7 days, Monday first
    month: int | None  # the month shown (None for a week view)
    days: dict[date, list[Entry]]


def weeks_of(anchor: date, span: str) -> list[list[date]]:
    """The days the week or month grid around ``anchor`` shows, in rows of 7, Monday first."""
    if span == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return [[first + timedelta(days=i) for i in range(7)]]
    return cal.Calendar(firstweekday=0).monthdatescalendar(anchor.year, anchor.month)


def window(anchor: date, span: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A stretch of time that holds every job of the grid around ``anchor`` (a day more
    on each side: whatever the zone's offsets), for ``Jobs.between``."""
    weeks = weeks_of(anchor, span)
    start = datetime.combine(weeks[0][0], time(), tz) - timedelta(days=1)
    end = datetime.combine(weeks[-1][-1], time(), tz) + timedelta(days=2)
    return start, end


def build(jobs: Iterable[Job], tz: ZoneInfo, anchor: date, span: str) -> Grid:
    """Group ``jobs`` by local day (in ``tz``) for the week or month around ``anchor``."""
    weeks = weeks_of(anchor, span)
    if span == "week":
        title = f"Week of {weeks[0][0]:%A %d %B %Y}"
        month = None
    else:
        title = f"{anchor:%B %Y}"
        month = anchor.month
    shown = {d for week in weeks for d in week}
    days: dict[date, list[Entry]] = {}
    by_post: dict[tuple[date, str, str], Entry] = {}
    for job in jobs:
        local = job.at.astimezone(tz)
        day = local.date()
        if day not in shown:
            continue
        key = (day, job.calendar, job.post_id)
        entry = by_post.get(key)
        if entry is None:
            entry = Entry(f"{local:%H:%M}", job.post_id, draft=job.status == "draft", text=job.text)
            by_post[key] = entry
            days.setdefault(day, []).append(entry)
        entry.jobs.append(job)
        if job.network not in entry.networks:
            entry.networks.append(job.network)
        if job.account not in entry.accounts:
            entry.accounts.append(job.account)
        entry.parts = max(entry.parts, job.parts)
    for entries in days.values():
        entries.sort(key=lambda e: (e.time, e.post))
    return Grid(title, weeks, month, days)


def abbreviation(network: str) -> str:
    """How a cell names a network: its declared abbreviation, or its name."""
    from cmctl.networks import registry

    try:
        return registry.get(network).short_name()
    except KeyError:  # a network of a package no longer installed
        return network


def default_anchor(
    first: datetime | None, upcoming: datetime | None, tz: ZoneInfo, now: datetime
) -> date:
    """Today, unless nothing is planned from ``now`` on (``upcoming``, the first job's
    time from then): then the day of the first planned job (``first``)."""
    if upcoming is not None or first is None:
        return now.astimezone(tz).date()
    return first.astimezone(tz).date()
