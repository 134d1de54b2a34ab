"""The plan for people and tools that don't read YAML: CSV, ICS (RFC 5545) and JSON.

Each writer takes the compiled jobs in plan order, each with the ledger's row for it
(``None`` when the ledger never saw it), and writes text to a stream: no clock, no
ledger (the command reads those and passes them in). ``destination`` is where the text
goes: stdout, or a file replaced at once (docs/export.md).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cmctl import atomic
from cmctl.errors import UsageError
from cmctl.output import PlanJob, echo_json, job_state

if TYPE_CHECKING:
    from cmctl.compile import Job

Pair = tuple["Job", Any]  # a job and its ledger row (JobState) or None

# What `cmctl import csv FILE` reads without options (the contract with import)...
IMPORT_COLUMNS = ("id", "date", "time", "timezone", "accounts", "text", "link", "media", "alt")
# ...and what it ignores: the ledger's view, per account in the order of `accounts`.
EXTRA_COLUMNS = ("calendar", "network", "key", "state", "url", "status", "thread")
CSV_COLUMNS = IMPORT_COLUMNS + EXTRA_COLUMNS
LIST_SEPARATOR = " | "  # between media, alt texts and the per-account extra values

EVENT_LENGTH = timedelta(minutes=15)  # a post is a moment; 15 minutes shows in a day view
UID_DOMAIN = "cmctl"  # the right-hand side of every UID (RFC 5545 3.8.4.7 suggests one)
SUMMARY_WORDS = 60  # characters of the text after the account in an event's title
NEEDS_A_HUMAN = ("failed", "missed", "unknown")  # said first in the event's title
SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)  # SEQUENCE counts minutes from here


def _posts(pairs: Iterable[Pair]) -> Iterator[list[Pair]]:
    """The jobs of one post for one account (its thread parts in order), one list each.

    Plan order is time, calendar, post, account, part: they come one after another."""
    for _, group in groupby(pairs, key=lambda pair: pair[0].post_key):
        yield list(group)


def sequence(stamp: datetime) -> int:
    """Every event's SEQUENCE: the export's minute. A later export always supersedes an
    earlier one (clients that gate updates on SEQUENCE apply a move), with no state kept
    between exports; unchanged events are simply applied again (docs/export.md)."""
    return max(0, int((stamp - SEQUENCE_EPOCH).total_seconds() // 60))


def uid(key: str) -> str:
    """An event's UID: the job key's digest, so it survives edits of text and time."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@{UID_DOMAIN}"


# ------------------------------------------------------------------------------------ CSV
def csv_rows(pairs: Iterable[Pair]) -> Iterator[dict[str, str]]:
    """One row per post and group of accounts that publish the same content.

    A post sent to three accounts with the same text is one row naming the three; an
    account with a variant gets its own row, after the largest group's (the post's id,
    then ``--ACCOUNT`` so a re-import keeps ids unique). Thread replies are not rows:
    ``thread`` counts them."""
    for _, same_post in groupby(_posts(pairs), key=lambda g: (g[0][0].calendar, g[0][0].post_id)):
        groups: dict[tuple[str, str, str, str], list[tuple[Job, Any, int]]] = {}
        for parts in same_post:
            job, row = parts[0]
            fields = (
                csv_text(job),
                job.link or "",
                LIST_SEPARATOR.join(m.source for m in job.media),
                _joined([m.alt or "" for m in job.media]),
            )
            groups.setdefault(fields, []).append((job, row, job.parts - 1))
        # The group with the most accounts keeps the post's id and comes first; the
        # others (variants) are named after their first account.
        first = True
        ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
        for (text, link, media, alt), members in ordered:
            job = members[0][0]
            accounts = [m[0].account for m in members]
            yield {
                "id": job.post_id if first else f"{job.post_id}--{accounts[0]}",
                "date": job.local.strftime("%Y-%m-%d"),
                "time": job.local.strftime("%H:%M"),
                "timezone": getattr(job.local.tzinfo, "key", str(job.local.tzinfo)),
                "accounts": " ".join(accounts),
                "text": text,
                "link": link,
                "media": media,
                "alt": alt,
                "calendar": job.calendar,
                "network": LIST_SEPARATOR.join(m[0].network for m in members),
                "key": LIST_SEPARATOR.join(m[0].key for m in members),
                "state": LIST_SEPARATOR.join(job_state(m[0], m[1]) for m in members),
                "url": _joined([(m[1].url if m[1] else None) or "" for m in members]),
                "status": job.status,
                "thread": str(max(m[2] for m in members)),
            }
            first = False


def csv_text(job: Job) -> str:
    """The main post's text for the CSV: the text as published without its link (the
    ``link`` column has it), the hashtags kept at the end (the CSV has no column for
    them). Compiling joins text, link and hashtags with blank lines: undone here."""
    text = job.sent_text  # as written (a network may show links shortened)
    tags = " ".join(f"#{tag}" for tag in job.tags)
    if tags and (text == tags or text.endswith("\n\n" + tags)):
        text = text[: -len(tags)].removesuffix("\n\n")
    if job.link and (text == job.link or text.endswith("\n\n" + job.link)):
        text = text[: -len(job.link)].removesuffix("\n\n")
    return f"{text}\n\n{tags}" if text and tags else text or tags


def _joined(values: list[str]) -> str:
    return LIST_SEPARATOR.join(values) if any(values) else ""


def write_csv(pairs: Iterable[Pair], out: TextIO) -> int:
    """RFC 4180: a header, CRLF line ends, fields quoted only when they must be."""
    writer = csv.DictWriter(
        out, CSV_COLUMNS, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n", extrasaction="raise"
    )
    writer.writeheader()
    count = 0
    for row in csv_rows(pairs):
        writer.writerow(row)
        count += 1
    return count


# ------------------------------------------------------------------------------------ ICS
def _summary(job: Job, state: str) -> str:
    first = " ".join(job.text.split())
    if len(first) > SUMMARY_WORDS:
        first = first[: SUMMARY_WORDS - 1].rstrip() + "…"
    flag = f"[{state}] " if state in NEEDS_A_HUMAN else ""
    return f"{flag}{job.account}: {first}"


def _status(job: Job, state: str) -> str:
    if state == "skipped":  # cancelled, or a draft the publisher passed by
        return "CANCELLED"
    return "TENTATIVE" if job.status == "draft" else "CONFIRMED"


def calendar_ics(pairs: Iterable[Pair], stamp: datetime, name: str = "cmctl") -> bytes:
    """One VEVENT per post and account (its thread replies in the description).

    UID from the job key; DTSTART with the calendar's TZID and its VTIMEZONE; DTSTAMP
    and SEQUENCE come from ``stamp`` (the export's time): see docs/export.md."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//cmctl//export//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    # How often a subscribing app should look again (RFC 7986; the X- one for Outlook).
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    first = last = None
    revision = sequence(stamp)
    for parts in _posts(pairs):
        job, row = parts[0]
        state = job_state(job, row)
        day = job.local.date()
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
        event = Event()
        event.add("uid", uid(job.key))
        event.add("dtstamp", stamp)
        event.add("sequence", revision)
        event.add("dtstart", job.local)
        event.add("duration", EVENT_LENGTH)
        event.add("summary", _summary(job, state))
        if len(parts) == 1:
            description = job.text
        else:
            description = "\n\n".join(f"— {p.part + 1}/{p.parts} —\n{p.text}" for p, _ in parts)
        event.add("description", description)
        url = row.url if row is not None else None
        if url:
            event.add("url", url)
        event.add("status", _status(job, state))
        event.add("categories", [job.network])
        event.add("x-cmctl-key", job.key)
        event.add("x-cmctl-state", state)
        cal.add_component(event)
    if first is not None and last is not None:  # the zones' rules over these days only
        cal.add_missing_timezones(first - timedelta(days=1), last + timedelta(days=1))
    return bytes(cal.to_ical())


# ----------------------------------------------------------------------------------- JSON
def write_json(pairs: Iterable[Pair], out: TextIO) -> None:
    """``{"jobs": [...]}``, each job exactly as `cmctl plan --json` writes it (job_dict):
    its ledger state and URL included."""
    with redirect_stdout(out):
        echo_json({"jobs": (PlanJob(job, row) for job, row in pairs)})


# ---------------------------------------------------------------------------- destination
@contextlib.contextmanager
def destination(target: str) -> Iterator[TextIO]:
    """A UTF-8 text stream that writes line ends as given (CSV and ICS want CRLF).

    ``-`` is stdout. A file is written beside itself and renamed over the old one once
    complete (fsync'ed first): a reader (a calendar app, a web server) sees the old
    file or the new one, never half of one; on an error the old one stays."""
    if target == "-":
        sys.stdout.flush()
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            yield stream
        finally:
            stream.flush()
            stream.detach()
        return
    try:
        with atomic.replacing(Path(os.path.abspath(target))) as raw:
            stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            try:
                yield stream
                stream.flush()
            finally:
                stream.detach()
    except OSError as exc:  # the folder is missing or not writable, the disk is full...
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
