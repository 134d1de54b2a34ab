"""The agenda as one self-contained HTML page: the month a CM sends the client.

Built from the same grid as the terminal agenda (:func:`cmctl.agenda.build`): each day's
posts, and for each post the compiled jobs (the exact text each account will publish:
link, hashtags and variants applied, counted the network's way), their media and thread
parts, and each job's state from the ledger.

The page needs nothing but itself: styles inline, images embedded as ``data:`` URIs (a
placeholder says why when a file is missing, too big or not an image), no script. Every
piece of text from a calendar, the configuration or the ledger goes through
:func:`html.escape`, and every attribute is quoted. A phone (under 700 px) sees a list of
days; a printer gets no backgrounds, one week per page and the links written out.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cmctl import atomic
from cmctl.agenda import Entry, Grid
from cmctl.calendar.model import Media
from cmctl.compile import Job

if TYPE_CHECKING:
    from cmctl.ledger.store import JobState, Ledger

MAX_IMAGE_BYTES = 3 * 1024 * 1024  # one image embedded at most this big
MAX_PAGE_MEDIA_BYTES = 40 * 1024 * 1024  # all images of a page together
STATE_BATCH = 999  # keys per query of the ledger (SQLite's oldest limit)
# What every browser shows in an <img>: other files get a placeholder.
SHOWN_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
NOT_SENT = frozenset({"pending", "skipped", "missed"})  # a draft in these is a draft
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# state -> (label shown, what it means for the client)
STATES: dict[str, tuple[str, str]] = {
    "published": ("published", "online: the link opens it"),
    "scheduled": ("scheduled", "handed to the network, which publishes it on time"),
    "sending": ("sending", "being published right now"),
    "pending": ("planned", "will be published at its time"),
    "draft": ("draft", "not approved yet: will not be published"),
    "failed": ("failed", "the network refused it"),
    "unknown": ("unknown", "may or may not be online: being checked"),
    "missed": ("missed", "its time passed without it being published"),
    "skipped": ("cancelled", "will not be published"),
}


def ledger_states(ledger: Ledger | None, keys: Sequence[str]) -> dict[str, JobState]:
    """The ledger's state of each job of ``keys`` it knows (read only, in batches)."""
    if ledger is None:
        return {}
    found: dict[str, JobState] = {}
    for start in range(0, len(keys), STATE_BATCH):
        found.update(ledger.states(list(keys[start : start + STATE_BATCH])))
    return found


def month_keys(grid: Grid) -> list[str]:
    """The keys of every job the grid shows."""
    return [job.key for entries in grid.days.values() for e in entries for job in e.jobs]


def write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old page or the new one."""
    atomic.write_bytes(path, text.encode("utf-8"), new_mode=0o644)


# ---------------------------------------------------------------------------- media
@dataclass(slots=True)
class _Images:
    """Media files read once per page, within the page's budget."""

    spent: int = 0
    seen: dict[Path, tuple[str | None, str]] = field(default_factory=dict)  # (data URI, why not)

    def get(self, m: Media) -> tuple[str | None, str]:
        if m.path not in self.seen:
            self.seen[m.path] = self._read(m)
        return self.seen[m.path]

    def _read(self, m: Media) -> tuple[str | None, str]:
        from cmctl import media

        try:
            facts = media.inspect(m.path, m.root)
        except OSError:
            return None, "file missing or unreadable"
        if facts.mime_type not in SHOWN_TYPES:
            kind = facts.mime_type or "unrecognised file"
            return None, f"{kind}: not shown here"
        if facts.size > MAX_IMAGE_BYTES:
            return None, f"too big to embed ({facts.size / 1048576:.1f} MB)"
        if self.spent + facts.size > MAX_PAGE_MEDIA_BYTES:
            return None, "not embedded: the page holds enough images already"
        try:
            data, facts = media.read_checked(m.path, m.root, MAX_IMAGE_BYTES)
        except OSError:
            return None, "file missing or unreadable"
        self.spent += len(data)
        encoded = base64.b64encode(data).decode("ascii")
        return f"data:{facts.mime_type};base64,{encoded}", ""


# ---------------------------------------------------------------------------- rendering
def _state_of(job: Job, states: Mapping[str, JobState]) -> tuple[str, str | None]:
    """(state, published URL) of a job: the ledger's, else draft or planned."""
    known = states.get(job.key)
    if known is None or (job.status == "draft" and known.state in NOT_SENT):
        return ("draft" if job.status == "draft" else "pending"), None
    return known.state, known.url


def _badge(state: str, url: str | None, who: str = "") -> str:
    label, meaning = STATES.get(state, (state, ""))
    prefix = f'<span class="who">{escape(who)}</span> ' if who else ""
    text = f'{prefix}<span class="st">{escape(label)}</span>'
    cls = f"badge s-{escape(state)}"
    if state == "published" and url and url.startswith(("https://", "http://")):
        return f'<a class="{cls}" href="{escape(url)}" title="{escape(meaning)}">{text} ↗</a>'
    return f'<span class="{cls}" title="{escape(meaning)}">{text}</span>'


def _length(job: Job, unit: str) -> str:
    if job.limit is None:
        return f'<span class="len">{job.length} {escape(unit)}</span>'
    over = job.length > job.limit
    cls = "len over" if over else "len"
    return f'<span class="{cls}">{job.length}/{job.limit} {escape(unit)}</span>'


def _media(items: Iterable[Media], images: _Images) -> str:
    out = []
    for m in items:
        uri, why = images.get(m)
        alt = m.alt or ""
        caption = (
            f"<figcaption><b>Alt:</b> {escape(alt)}</figcaption>"
            if alt
            else '<figcaption class="noalt">No alt text</figcaption>'
        )
        if uri is not None:
            body = f'<img src="{uri}" alt="{escape(alt)}" loading="lazy">'
        else:
            body = (
                f'<div class="ph" role="img" aria-label="{escape(alt)}">'
                f"<b>{escape(m.source)}</b><br>{escape(why)}</div>"
            )
        out.append(f"<figure>{body}{caption}</figure>")
    return "".join(out)


def _part(job: Job, unit: str, images: _Images) -> str:
    problems = "".join(f"<li>{escape(p)}</li>" for p in job.problems)
    return (
        f'<div class="text">{escape(job.text)}</div>'
        f'<div class="meta">{_length(job, unit)}</div>'
        + (f'<ul class="problems">{problems}</ul>' if problems else "")
        + _media(job.media, images)
    )


def _network(name: str) -> tuple[str, str]:
    """(title, length unit) of a network, from its declaration."""
    from cmctl.networks import registry

    try:
        cls = registry.get(name)
    except KeyError:  # a network of a package no longer installed
        return name, "characters"
    return cls.title, cls.length_unit


def _entry(entry: Entry, states: Mapping[str, JobState], images: _Images) -> str:
    """One post's card: its accounts, grouped when they publish the very same thing."""
    by_account: dict[str, list[Job]] = {}
    for job in entry.jobs:
        by_account.setdefault(job.account, []).append(job)
    blocks: dict[tuple[object, ...], list[str]] = {}
    first: dict[tuple[object, ...], list[Job]] = {}
    for account, jobs in by_account.items():
        jobs.sort(key=lambda j: j.part)
        same: tuple[object, ...] = (
            jobs[0].network,
            tuple((j.text, j.length, j.limit, j.problems, j.media) for j in jobs),
        )
        blocks.setdefault(same, []).append(account)
        first.setdefault(same, jobs)
    html = []
    for key, accounts in blocks.items():
        jobs = first[key]
        title, unit = _network(jobs[0].network)
        badges = []
        for account in accounts:
            head = next(j for j in by_account[account] if j.part == jobs[0].part)
            badges.append(_badge(*_state_of(head, states), who=account))
        parts = []
        for index, job in enumerate(jobs):
            extra = ""
            for account in accounts:  # a part whose state differs from the post's
                mine = by_account[account][index]
                state, url = _state_of(mine, states)
                if index and (state, url) != _state_of(by_account[account][0], states):
                    extra += _badge(state, url, who=account)
            body = _part(job, unit, images) + (
                f'<div class="badges">{extra}</div>' if extra else ""
            )
            parts.append(body)
        if len(parts) > 1:
            content = '<ol class="thread">' + "".join(f"<li>{p}</li>" for p in parts) + "</ol>"
        else:
            content = parts[0]
        html.append(
            f'<section class="acct" data-network="{escape(jobs[0].network)}">'
            f'<header><span class="net">{escape(title)}</span>'
            f'<span class="badges">{"".join(badges)}</span></header>{content}</section>'
        )
    draft = " draft" if entry.draft else ""
    thread = (
        f'<span class="thread-n">thread · {entry.parts} parts</span>' if entry.parts > 1 else ""
    )
    calendar = entry.jobs[0].calendar if entry.jobs else ""
    return (
        f'<article class="card{draft}" data-post="{escape(entry.post)}" '
        f'data-calendar="{escape(calendar)}">'
        f'<h3><time>{escape(entry.time)}</time> <span class="pid">{escape(entry.post)}</span>'
        f"{thread}</h3>{''.join(html)}</article>"
    )


def _day(d: date, grid: Grid, states: Mapping[str, JobState], images: _Images) -> str:
    entries = grid.days.get(d, [])
    classes = ["day"]
    if grid.month is not None and d.month != grid.month:
        classes.append("outside")
    if not entries:
        classes.append("empty")
    if d.weekday() >= 5:
        classes.append("weekend")
    cards = "".join(_entry(e, states, images) for e in entries)
    return (
        f'<div class="{" ".join(classes)}" data-date="{d.isoformat()}">'
        f'<div class="num"><span class="dow">{d:%A}</span> {d.day}'
        f'<span class="mon"> {d:%B}</span></div>{cards}</div>'
    )


def render(
    grid: Grid,
    tz: ZoneInfo,
    states: Mapping[str, JobState],
    *,
    now: datetime,
    project: str = "",
) -> str:
    """The whole page of ``grid`` (a month), each job with its state in ``states``."""
    images = _Images()
    weeks = "".join(
        '<div class="week">' + "".join(_day(d, grid, states, images) for d in week) + "</div>"
        for week in grid.weeks
    )
    posts = sum(
        len(entries)
        for d, entries in grid.days.items()
        if grid.month is None or d.month == grid.month
    )
    heading = f"{escape(project)} · " if project else ""
    legend = "".join(
        f'<li><span class="badge s-{key}"><span class="st">{escape(label)}</span></span> '
        f"{escape(meaning)}</li>"
        for key, (label, meaning) in STATES.items()
    )
    generated = now.astimezone(tz)
    return PAGE.format(
        title=f"{heading}{escape(grid.title)}",
        month=escape(grid.title),
        project=heading,
        posts=posts,
        plural="" if posts == 1 else "s",
        zone=escape(tz.key),
        generated=f"{generated:%Y-%m-%d %H:%M}",
        weekdays="".join(f"<div>{w}</div>" for w in WEEKDAYS),
        weeks=weeks or '<p class="nothing">Nothing planned this month.</p>',
        legend=legend,
        css=CSS,
    )


CSS = """
:root{--ink:#1d2330;--muted:#6b7385;--line:#e3e6ec;--bg:#f5f6f8;--card:#fff;--accent:#3b5bdb;
--ok:#2b8a3e;--warn:#e67700;--bad:#c92a2a;--draft:#868e96}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:1600px;margin:0 auto;padding:24px 20px 40px}
.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 24px;margin-bottom:16px}
h1{font-size:28px;margin:0;letter-spacing:-.01em}
.sub{color:var(--muted)}
.weekdays,.week{display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:6px}
.weekdays div{font-weight:600;color:var(--muted);text-transform:uppercase;font-size:12px;
letter-spacing:.06em;padding:0 6px 4px}
.week{margin-bottom:6px}
.day{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px;
min-height:110px}
.day.weekend{background:#fbfbfd}
.day.outside{opacity:.45;background:transparent}
.num{font-weight:700;font-size:15px;margin:0 2px 6px}
.num .dow,.num .mon{display:none}
.card{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;
padding:6px 7px;margin-bottom:8px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card.draft{border-left-color:var(--draft);
background:repeating-linear-gradient(135deg,#fff 0 8px,#f8f9fa 8px 16px)}
.card h3{margin:0 0 4px;font-size:13px;display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline}
.card time{color:var(--accent)}
.pid{color:var(--muted);font-weight:500;word-break:break-all}
.thread-n{font-size:11px;font-weight:600;color:#5f3dc4}
.acct{border-top:1px dashed var(--line);padding-top:5px;margin-top:5px}
.acct header{display:flex;flex-wrap:wrap;gap:4px;align-items:center;margin-bottom:3px}
.net{font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;color:var(--ink)}
.badges{display:inline-flex;flex-wrap:wrap;gap:3px}
.badge{display:inline-block;font-size:11px;border-radius:10px;padding:0 7px;
background:#e7f0ff;color:var(--accent);text-decoration:none;white-space:nowrap}
.badge .who{opacity:.75}
.badge .st{font-weight:600}
.s-published{background:#e6f4ea;color:var(--ok)}
.s-scheduled,.s-sending{background:#e3fafc;color:#0b7285}
.s-failed,.s-missed{background:#ffe3e3;color:var(--bad)}
.s-unknown{background:#fff4e6;color:var(--warn)}
.s-draft,.s-skipped{background:#f1f3f5;color:var(--draft)}
.text{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;margin:2px 0}
.meta{font-size:11px;color:var(--muted)}
.len.over{color:#fff;background:var(--bad);border-radius:4px;padding:0 4px;font-weight:700}
.problems{margin:2px 0;padding-left:16px;color:var(--bad);font-size:11px}
.thread{margin:0;padding-left:18px}
.thread li{margin-bottom:4px}
figure{margin:5px 0}
figure img{display:block;max-width:100%;height:auto;border-radius:4px;border:1px solid var(--line)}
figcaption{font-size:11px;color:var(--muted)}
figcaption.noalt{color:var(--bad)}
.ph{border:2px dashed var(--bad);color:var(--bad);border-radius:4px;padding:10px;font-size:12px;
text-align:center;overflow-wrap:anywhere}
.legend{margin:20px 0 0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:6px 18px;
color:var(--muted);font-size:12px}
.nothing{color:var(--muted)}
@media (max-width:700px){
.page{padding:14px 10px}
h1{font-size:22px}
.weekdays{display:none}
.week{display:block;margin:0}
.day{min-height:0;margin-bottom:10px;background:var(--card)}
.day.empty,.day.outside{display:none}
.num .dow,.num .mon{display:inline}
.num{font-size:16px;border-bottom:1px solid var(--line);padding-bottom:4px}
.text{font-size:15px}
}
@media print{
@page{size:A4 landscape;margin:10mm}
*{background:transparent!important;box-shadow:none!important}
body{font-size:10pt;color:#000}
.page{max-width:none;padding:0}
.week{break-inside:avoid-page;margin-bottom:4px}
.week+.week{break-before:page}
.day,.card{border-color:#999}
.day.outside{opacity:.4}
.card{break-inside:avoid}
.badge{border:1px solid currentColor}
a[href]::after{content:" (" attr(href) ")";font-size:8pt;word-break:break-all;white-space:normal}
}
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cmctl">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<div class="page">
<div class="top">
<h1>{project}{month}</h1>
<span class="sub">{posts} post{plural} · times in {zone} · generated {generated}</span>
</div>
<div class="weekdays">{weekdays}</div>
{weeks}
<ul class="legend">{legend}</ul>
</div>
</body>
</html>
"""
