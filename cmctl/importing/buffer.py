"""Buffer's bulk-upload CSV.

Source: Buffer's help article "How to upload posts in bulk to Buffer",
https://support.buffer.com/article/926-how-to-upload-posts-in-bulk-to-buffer
(as quoted by public tools that write the format; the page itself could not be read
from here, see docs/import.md). The first row names the columns:

    Text, Image URL, Tags, Posting Time        (and Board Name, for Pinterest only)

- Text: the post (may be empty when Image URL is set: cmctl needs a text).
- Image URL: a public image URL (cmctl's media are project files: left out, with a
  warning).
- Tags: Buffer's own labels for organising posts (not hashtags): ignored, with a note.
- Posting Time: ``YYYY-MM-DD HH:mm``, 24-hour, in the time zone of the Buffer channel
  (``--timezone``). Empty means "add to the queue", which cmctl cannot do: an error.

Buffer chooses the channels at upload: the accounts come from ``--accounts``.
"""

from __future__ import annotations

from cmctl.errors import UsageError
from cmctl.importing.draft import BadValue, Draft, Parsed, attach_media, header_index, iso_date
from cmctl.importing.reader import Table

SOURCES = ("https://support.buffer.com/article/926-how-to-upload-posts-in-bulk-to-buffer",)
COLUMNS = ("Text", "Image URL", "Tags", "Posting Time", "Board Name")


def parse(table: Table, *, day_first: bool, mapping: dict[str, str]) -> Parsed:
    if day_first:
        raise UsageError("--day-first: Buffer's Posting Time is always YYYY-MM-DD HH:mm")
    if mapping:
        raise UsageError("--map is for the generic csv format (Buffer's columns are fixed)")
    parsed = Parsed()
    if not table.records:
        return parsed
    head, *rows = table.records
    index = header_index(head)
    if "text" not in index or "posting time" not in index:
        raise UsageError(
            f"{table.shown}:{head.line}: not a Buffer bulk-upload file: the first row must "
            f"name the columns {', '.join(COLUMNS[:4])}",
            hint="a file without that header: `cmctl import csv` with --map",
        )
    known = {c.lower() for c in COLUMNS}
    for name, i in index.items():
        if name not in known:
            cell = head.cells[i]
            parsed.note(
                f"column '{cell.value}' is not a Buffer column: ignored", cell.line, cell.col
            )
    if "tags" in index:
        cell = head.cells[index["tags"]]
        parsed.note("Buffer's Tags organise posts in Buffer: not imported", cell.line, cell.col)
    for record in rows:
        text = record.cell(index["text"])
        when = record.cell(index["posting time"])
        if when is None or not when.value:
            parsed.error(
                when or record,
                "no Posting Time (Buffer would add the post to its queue; cmctl needs a time)",
                record,
            )
            continue
        try:
            day, clock = iso_date(when.value)
        except BadValue as exc:
            parsed.error(when, str(exc), record)
            continue
        if clock is None:
            parsed.error(when, f"'{when.value}' has no time (write YYYY-MM-DD HH:mm)", record)
            continue
        if text is None:
            parsed.error(record, "the row has no Text cell", record)
            continue
        draft = Draft(record, day, clock, when, text)
        image = record.cell(index["image url"]) if "image url" in index else None
        attach_media(parsed, draft, image, None, record)
        parsed.drafts.append(draft)
    return parsed
