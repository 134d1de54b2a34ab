"""A CSV file read the way a person points at it: every cell keeps its physical place.

``csv.reader`` gives values, and its ``line_num`` is the line where a record *ends*
(a quoted cell may hold newlines). Each record is fed to it one physical line at a
time, so the line where the record starts is known; a small scanner over the record's
raw text (the same quoting rules: ``"`` opens a cell only at its start, ``""`` is a
quote) gives each cell's line and 1-based character column. Where the two disagree
(a malformed record the reader forgave), every cell of the record is placed at its
first line, column 1.

Everything that would make the file unreadable as CSV (missing, a directory, a FIFO,
binary, not UTF-8, an unterminated quote) is a ``UsageError`` (exit 2) naming the file.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cmctl.errors import UsageError

MAX_BYTES = 20 * 1024 * 1024  # far beyond any bulk-upload file (Hootsuite: 350 rows)
DELIMITERS = (",", ";", "\t")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True, slots=True)
class Cell:
    value: str  # stripped; CRLF inside a quoted cell becomes LF
    line: int  # physical line of the cell's first character (1-based)
    col: int  # 1-based character column on that line


@dataclass(slots=True)
class Record:
    line: int  # the physical line where the record starts
    cells: list[Cell]

    def cell(self, index: int) -> Cell | None:
        return self.cells[index] if index < len(self.cells) else None


@dataclass(slots=True)
class Table:
    shown: str  # the file as the user named it, for messages
    delimiter: str
    records: list[Record] = field(default_factory=list)


def read_table(path: Path, shown: str, delimiter: str | None = None) -> Table:
    """Every non-blank record of the CSV file at ``path`` with its cells' positions."""
    text = _read_text(path, shown)
    lines = _LINE.findall(text)
    if delimiter is None:
        delimiter = detect_delimiter(lines)
    elif len(delimiter) != 1 or delimiter in '\r\n"':
        raise UsageError(f"--delimiter must be one character (got {delimiter!r})")
    table = Table(shown, delimiter)
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    while True:
        start = consumed + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UsageError(
                f"{shown}:{start}: not valid CSV ({exc})",
                hint="a quoted cell must end with a closing quote; a quote inside "
                'a quoted cell is written twice ("")',
            ) from None
        if not any(v.strip() for v in values):
            continue  # a blank line, or a spreadsheet's empty row (,,,)
        raw = "".join(lines[start - 1 : consumed])
        table.records.append(Record(start, _cells(values, raw, start, delimiter)))
    return table


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter of the first non-blank line: the most frequent of , ; and tab
    outside quotes (a tie, or none: a comma). Spreadsheets in languages whose decimal
    mark is a comma save CSV with semicolons."""
    for line in lines:
        if line.strip():
            counts = {d: 0 for d in DELIMITERS}
            quoted = False
            for char in line:
                if char == '"':
                    quoted = not quoted
                elif not quoted and char in counts:
                    counts[char] += 1
            best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
            return best if counts[best] else ","
    return ","


def _read_text(path: Path, shown: str) -> str:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{shown}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{shown}: is a directory, not a CSV file")
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block, a device never end
        raise UsageError(f"{shown}: not a regular file (a pipe, device or socket)")
    if info.st_size > MAX_BYTES:
        raise UsageError(f"{shown}: {info.st_size} bytes: too large for a CSV of posts")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if b"\0" in data:
        raise UsageError(f"{shown}: a binary file, not CSV text")
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte order mark is dropped
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{shown}: not UTF-8 text (byte {exc.start + 1})",
            hint="save it as 'CSV UTF-8' from the spreadsheet",
        ) from None
    if not text.strip():
        raise UsageError(f"{shown}: the file is empty")
    return text


def _cells(values: list[str], raw: str, start: int, delimiter: str) -> list[Cell]:
    offsets = _cell_offsets(raw, delimiter)
    if len(offsets) != len(values):
        return [Cell(_clean(v), start, 1) for v in values]
    line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", raw)]
    cells = []
    for value, offset in zip(values, offsets, strict=True):
        index = 0
        while index + 1 < len(line_starts) and line_starts[index + 1] <= offset:
            index += 1
        cells.append(Cell(_clean(value), start + index, offset - line_starts[index] + 1))
    return cells


def _cell_offsets(raw: str, delimiter: str) -> list[int]:
    """Where each cell of one record starts in its raw text (csv's default dialect)."""
    starts = [0]
    quoted = False
    at_start = True
    i = 0
    end = len(raw.rstrip("\r\n"))
    while i < end:
        char = raw[i]
        if at_start and char == '"':
            quoted, at_start = True, False
        elif quoted:
            if char == '"':
                if i + 1 < end and raw[i + 1] == '"':
                    i += 1
                else:
                    quoted = False
        elif char == delimiter:
            starts.append(i + 1)
            at_start = True
            i += 1
            continue
        else:
            at_start = False
        if char == '"' and not quoted:
            at_start = False
        i += 1
    return starts


def _clean(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()
