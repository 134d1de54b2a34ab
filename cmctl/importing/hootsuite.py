"""Hootsuite's bulk composer CSV (bulk message upload).

Sources: Hootsuite's help article "Schedule posts in bulk" (bulk composer),
https://help.hootsuite.com/hc/en-us/articles/204598140 (not readable from here), and
the guides that walk through the same upload screen:
https://kim-iverson-headlee.blogspot.com/2016/08/the-business-of-writing-using-hootsuite.html
(three components per message: "the date and time stamp, the message, and the link"),
http://jycalcano.blogspot.com/2015/07/post-8-hootsuite-bulk-messaging.html (the date
format, mm/dd/yyyy hh:mm, is chosen on the upload screen),
https://indextokyo.com/post-514 (dates written as ``05/13/2016 19:00``).

No header row; one message per row:

    column 1: date and time, ``MM/DD/YYYY HH:mm`` or ``DD/MM/YYYY HH:mm`` (chosen at
              upload: ``--day-first``), 24-hour clock
    column 2: the message
    column 3: a link (optional)

Hootsuite chooses the social profiles at upload: the accounts come from ``--accounts``.
A first row whose first cell has no digit is taken for a header and skipped, with a note.
"""

from __future__ import annotations

from cmctl.errors import UsageError
from cmctl.importing.draft import BadValue, Draft, Parsed, slashed_date
from cmctl.importing.reader import Table

SOURCES = (
    "https://help.hootsuite.com/hc/en-us/articles/204598140",
    "https://kim-iverson-headlee.blogspot.com/2016/08/the-business-of-writing-using-hootsuite.html",
    "http://jycalcano.blogspot.com/2015/07/post-8-hootsuite-bulk-messaging.html",
)


def parse(table: Table, *, day_first: bool, mapping: dict[str, str]) -> Parsed:
    if mapping:
        raise UsageError("--map is for the generic csv format (Hootsuite's columns are fixed)")
    parsed = Parsed()
    records = table.records
    if records and not any(ch.isdigit() for ch in records[0].cells[0].value):
        head = records[0]
        parsed.note("the first row looks like column names: skipped", head.line, 1)
        records = records[1:]
    for record in records:
        when = record.cells[0]
        text = record.cell(1)
        if text is None:
            parsed.error(record, "expected date,message[,link]: the row has one cell", record)
            continue
        try:
            day, clock = slashed_date(when.value, day_first=day_first)
        except BadValue as exc:
            parsed.error(when, str(exc), record)
            continue
        if clock is None:
            parsed.error(when, f"'{when.value}' has no time (Hootsuite needs HH:mm)", record)
            continue
        link = record.cell(2)
        if len(record.cells) > 3 and any(c.value for c in record.cells[3:]):
            extra = record.cells[3]
            parsed.warning(extra, "cells after the link are not Hootsuite's: ignored", record)
        parsed.drafts.append(
            Draft(record, day, clock, when, text, link=link if link and link.value else None)
        )
    return parsed
