"""The generic CSV: a header row, one post per row, columns found by name.

Default column names (what `cmctl export --format csv` writes, so its output imports
back with no option):

    id, date, time, timezone, accounts, text, link, media, alt

- date: ``YYYY-MM-DD``; the time may be in it (``YYYY-MM-DD HH:MM``) instead of in `time`.
- time: ``HH:MM``, 24-hour, local to the row's `timezone` (else the calendar's).
- accounts: names separated by spaces or commas (else ``--accounts``).
- media, alt: several separated by `` | ``, paired in order; paths are relative to the
  new calendar file, as in a calendar.
- empty cells mean "not set"; any other column is ignored, with a note.

``--map text=Message,date=Day`` reads a field from a column with another name.
Names match exactly, else ignoring case and surrounding spaces.
"""

from __future__ import annotations

from cmctl.errors import UsageError
from cmctl.importing.draft import (
    BadValue,
    Draft,
    Parsed,
    attach_media,
    clock,
    iso_date,
)
from cmctl.importing.reader import Cell, Record, Table

FIELDS = ("id", "date", "time", "timezone", "accounts", "text", "link", "media", "alt")
REQUIRED = ("date", "text")


def parse(table: Table, *, day_first: bool, mapping: dict[str, str]) -> Parsed:
    if day_first:
        raise UsageError("--day-first: the generic format's dates are always YYYY-MM-DD")
    for name in mapping:
        if name not in FIELDS:
            raise UsageError(f"--map: no field '{name}' (fields: {', '.join(FIELDS)})")
    parsed = Parsed()
    if not table.records:
        return parsed
    head, *rows = table.records
    columns = _columns(head, mapping, table.shown)
    used = set(columns.values())
    for index, cell in enumerate(head.cells):
        if index not in used and cell.value:
            parsed.note(f"column '{cell.value}' is not imported", cell.line, cell.col)
    for record in rows:
        draft = _draft(record, columns, parsed)
        if draft is not None:
            parsed.drafts.append(draft)
    return parsed


def _columns(head: Record, mapping: dict[str, str], shown: str) -> dict[str, int]:
    exact = {c.value: i for i, c in reversed(list(enumerate(head.cells)))}
    loose = {c.value.strip().lower(): i for i, c in reversed(list(enumerate(head.cells)))}
    columns: dict[str, int] = {}
    for name in FIELDS:
        wanted = mapping.get(name, name)
        index = exact.get(wanted, loose.get(wanted.strip().lower()))
        if index is None and name in mapping:
            raise UsageError(
                f"{shown}:{head.line}: --map {name}={wanted}: no column '{wanted}' "
                f"(columns: {', '.join(c.value for c in head.cells)})"
            )
        if index is not None:
            columns[name] = index
    missing = [n for n in REQUIRED if n not in columns]
    if missing:
        raise UsageError(
            f"{shown}:{head.line}: no column for {' and '.join(missing)} "
            f"(columns: {', '.join(c.value for c in head.cells)})",
            hint="name the columns "
            + ",".join(FIELDS)
            + ", or map yours: --map text=Message,date=Day",
        )
    return columns


def _draft(record: Record, columns: dict[str, int], parsed: Parsed) -> Draft | None:
    def get(name: str) -> Cell | None:
        index = columns.get(name)
        cell = record.cell(index) if index is not None else None
        return cell if cell is not None and cell.value else None

    when = get("date")
    text = get("text")
    if when is None:
        place = record.cell(columns["date"])
        parsed.error(place or record, "no date", record)
        return None
    try:
        day, at = iso_date(when.value)
        time_cell = get("time")
        if time_cell is not None:
            if at is not None:
                parsed.error(time_cell, "a time in both the date and the time column", record)
                return None
            try:
                at = clock(time_cell.value)
            except BadValue as exc:
                parsed.error(time_cell, str(exc), record)
                return None
    except BadValue as exc:
        parsed.error(when, str(exc), record)
        return None
    if at is None:
        parsed.error(when, f"'{when.value}' has no time (add a time column, or HH:MM)", record)
        return None
    if text is None:
        place = record.cell(columns["text"])
        text = place if place is not None else Cell("", record.line, 1)
    draft = Draft(
        record,
        day,
        at,
        when,
        text,
        id=get("id"),
        zone=get("timezone"),
        accounts=get("accounts"),
        link=get("link"),
    )
    attach_media(parsed, draft, get("media"), get("alt"), record)
    return draft
