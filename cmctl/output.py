"""Renderers: the human view (rich), --json / --format json, and GitHub annotations.

A command picks one renderer once per run; the JSON carries the same data as the
human view under stable keys.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from types import GeneratorType
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from rich.console import Console

    from cmctl.compile import Job
    from cmctl.diagnostics import Diagnostic
    from cmctl.project import Packed


def console(err: bool = False, *, soft_wrap: bool = False) -> Console:
    """A rich console; off a terminal (pipes, CI logs) it is wide, not 80 columns."""
    import os

    from rich.console import Console

    file = sys.stderr if err else sys.stdout
    width = None
    if not (hasattr(file, "isatty") and file.isatty()) and "COLUMNS" not in os.environ:
        width = 160
    return Console(file=file, highlight=False, soft_wrap=soft_wrap, width=width)


def echo_json(data: Any) -> None:
    """``json.dumps(data, ensure_ascii=False, indent=2, default=str)``, written as it goes.

    The standard encoder with ``indent`` is pure Python and builds one string: slow and
    large for a 100,000-job plan. This one gives the same text, uses the C string
    encoder, and writes in chunks; a generator is written as a list, item by item.
    """
    out, flush = _buffered()
    _encode(data, "\n", out, flush)
    out.append("\n")
    flush()


def _buffered() -> tuple[list[str], Callable[[], None]]:
    """A list to append text to, and what writes it to stdout (and empties it)."""
    out: list[str] = []
    write = sys.stdout.write

    def flush() -> None:
        write("".join(out))
        out.clear()

    return out, flush


_encode_str = json.encoder.encode_basestring  # C when available


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _encode(value: Any, newline: str, out: list[str], flush: Callable[[], None]) -> None:
    """Append the JSON of ``value``, indented as at ``newline``, to ``out``."""
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for k, v in value.items():
            out.append(sep)
            out.append(_encode_str(_key(k)))
            out.append(": ")
            _encode(v, inner, out, flush)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, list | tuple | GeneratorType):
        inner = newline + "  "
        sep = _encode_items(value, inner, out, flush, "[" + inner)
        out.append("[]" if sep[0] == "[" else newline + "]")
    elif value.__class__ is PlanJob:
        out.append(_job_text(value, newline))
    elif value.__class__ is PlanPacked:
        out.append(_packed_text(value, newline))
    elif value.__class__ is Later:
        _encode(value.get(), newline, out, flush)
    elif value.__class__ is Spliced:
        flush()
        value.copy()
    else:
        out.append(_encode_str(str(value)))


# The indentation of an item of a list that is a value of the top object (the jobs of
# `plan --json`): what ``write_items`` is given for another process's share of them.
NESTED_ITEM = "\n    "


def write_items(items: Iterable[Any], newline: str) -> None:
    """The JSON of ``items`` as ``echo_json`` writes them in a list indented at
    ``newline``, separated by commas, without the brackets: a share of a list made by
    another process, written in it as ``Spliced``."""
    out, flush = _buffered()
    _encode_items(items, newline, out, flush, "")
    flush()


def _encode_items(
    items: Iterable[Any], inner: str, out: list[str], flush: Callable[[], None], sep: str
) -> str:
    """Append each item's JSON, indented at ``inner``, after ``sep`` for the first and a
    comma for the others; written out every few thousand pieces. The last separator."""
    for item in items:
        out.append(sep)
        _encode(item, inner, out, flush)
        sep = "," + inner
        if len(out) > 4096:
            flush()
    return sep


class Spliced:
    """Items of a list whose text is made elsewhere (``write_items``): ``echo_json``
    writes what it has, then calls ``copy`` to write them in their place."""

    __slots__ = ("copy",)

    def __init__(self, copy: Callable[[], None]) -> None:
        self.copy = copy


class Later:
    """A value of ``echo_json`` known only once what comes before it was written (the
    drafts a streamed plan hid): ``get()`` is called when its turn comes."""

    __slots__ = ("get",)

    def __init__(self, get: Callable[[], Any]) -> None:
        self.get = get


# ---------------------------------------------------------------------------- diagnostics
def _lines(path: str) -> list[str]:
    """The file's lines for a code frame: read again when the file (or the folder the
    relative path is read from) changed, as in a long-lived process (the daemon)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return []
    return _read_lines(os.path.abspath(path), st.st_mtime_ns, st.st_size, st.st_ino)


@cache
def _read_lines(path: str, mtime_ns: int, size: int, inode: int) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return []


def render_diagnostics_text(
    diagnostics: Iterable[Diagnostic], *, err: bool = False, frames: bool = True
) -> None:
    from rich.markup import escape

    out = console(err, soft_wrap=True)  # one diagnostic, one line: editors parse them
    for d in diagnostics:
        colour = "red" if d.severity == "error" else "yellow"
        out.print(
            f"[bold]{escape(d.path)}:{d.line}:{d.col}:[/] [{colour} bold]{d.severity}:[/] "
            f"{escape(d.message)} [dim]\\[{d.rule}][/]"
        )
        if frames and d.frame:
            lines = _lines(d.path)
            if 0 < d.line <= len(lines):
                width = len(str(d.line + 1))
                if d.line > 1:
                    out.print(f"[dim]{d.line - 1:>{width}} │ {escape(lines[d.line - 2])}[/]")
                out.print(f"[dim]{d.line:>{width}} │[/] {escape(lines[d.line - 1])}")
                out.print(f"[dim]{'':>{width}} │[/] {' ' * (d.col - 1)}[{colour}]^[/]")
        if d.hint:
            out.print(f"  [cyan]hint:[/] {escape(d.hint)}")


def render_diagnostics_github(diagnostics: Iterable[Diagnostic]) -> None:
    """GitHub Actions workflow commands: one ::error/::warning line per diagnostic."""

    def prop(value: str) -> str:
        return (
            value.replace("%", "%25")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
            .replace(":", "%3A")
            .replace(",", "%2C")
        )

    def data(value: str) -> str:
        return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    for d in diagnostics:
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        sys.stdout.write(
            f"::{d.severity} file={prop(d.path)},line={d.line},col={d.col},"
            f"title={prop('cmctl ' + d.rule)}::{data(message)}\n"
        )


# ---------------------------------------------------------------------------- jobs
def first_line(text: str, width: int = 60) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= width else line[: width - 1] + "…"


def job_state(job: Job | Packed, row: Any) -> str:
    """The ledger's word on a job: 'planned' before cmctl ever saw it run."""
    if row is None:
        return "draft" if job.status == "draft" else "planned"
    if row.state == "published" and row.sent_hash != job.content_hash:
        return "published, changed since"
    if row.state == "pending" and row.attempts:
        return f"retrying ({row.attempts})"
    return str(row.state)


def job_dict(job: Job, row: Any = None) -> dict[str, Any]:
    return {
        "key": job.key,
        "calendar": job.calendar,
        "post": job.post_id,
        "account": job.account,
        "network": job.network,
        "part": job.part,
        "parts": job.parts,
        "at": _iso(job.at),
        "local": _iso(job.local),
        "timezone": getattr(job.local.tzinfo, "key", str(job.local.tzinfo)),
        "status": job.status,
        "title": job.title,
        "text": job.text,
        "media": [{"path": m.source, "alt": m.alt} for m in job.media],
        "length": job.length,
        "limit": job.limit,
        "content_hash": job.content_hash,
        "source": f"{job.pos.path}:{job.pos.line}:{job.pos.col}",
        "state": job_state(job, row),
        "url": row.url if row is not None else None,
        "reason": row.reason if row is not None else None,
        "queue": job.post.queue,
        "slot": _iso(job.local) if job.post.queue is not None else None,
        "moved_from": _iso(_moved(job)) if job.post.moved_from is not None else None,
    }


def _moved(job: Job | Packed) -> datetime:
    """Where placement moved a queued post from (cmctl.queues), in the post's zone."""
    assert job.moved_from is not None
    return job.moved_from.astimezone(job.local.tzinfo)


def queue_note(job: Job | Packed) -> str:
    """What `plan` adds to a queued job's state: its queue, and where it moved from."""
    if job.queue is None:
        return ""
    if job.moved_from is None:
        return f" · queue {job.queue}"
    return f" · queue {job.queue}, moved from {_moved(job):%a %Y-%m-%d %H:%M}"


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class PlanJob:
    """A job of `plan --json`: ``echo_json`` writes the text of its ``job_dict`` in one
    formatting call instead of building the dict and encoding it field by field."""

    __slots__ = ("job", "row")

    def __init__(self, job: Job, row: Any = None) -> None:
        self.job = job
        self.row = row


_JOB_KEYS = (  # job_dict's keys, in its order (tests/test_scale_paths.py compares)
    "key",
    "calendar",
    "post",
    "account",
    "network",
    "part",
    "parts",
    "at",
    "local",
    "timezone",
    "status",
    "title",
    "text",
    "media",
    "length",
    "limit",
    "content_hash",
    "source",
    "state",
    "url",
    "reason",
    "queue",
    "slot",
    "moved_from",
)


def _no_flush() -> None:
    pass


@cache
def _job_template(newline: str) -> str:
    inner = newline + "  "
    return "{" + ",".join(f'{inner}"{k}": %s' for k in _JOB_KEYS) + newline + "}"


def _job_text(item: PlanJob, newline: str) -> str:
    job, row = item.job, item.row
    post = job.post
    e = _encode_str
    if job.media:
        out: list[str] = []
        _encode(
            [{"path": m.source, "alt": m.alt} for m in job.media], newline + "  ", out, _no_flush
        )
        media = "".join(out)
    else:
        media = "[]"
    pos = job.pos
    if row is None:
        url = reason = "null"
    else:
        url = "null" if row.url is None else e(row.url)
        reason = "null" if row.reason is None else e(row.reason)
    return _job_template(newline) % (
        e(job.key),
        e(post.calendar),
        e(post.id),
        e(job.account),
        e(job.network),
        int.__repr__(job.part),
        int.__repr__(job.parts),
        e(post.at.isoformat()),
        e(post.local.isoformat()),
        e(getattr(post.local.tzinfo, "key", str(post.local.tzinfo))),
        e(post.status),
        "null" if job.title is None else e(job.title),
        e(job.text),
        media,
        int.__repr__(job.length),
        "null" if job.limit is None else int.__repr__(job.limit),
        e(job.content_hash),
        e(f"{pos.path}:{pos.line}:{pos.col}"),
        e(job_state(job, row)),
        url,
        reason,
        *_queue_fields(job),
    )


class PlanPacked:
    """A job of `plan --json` given as its packed rows (``project.Packed``), with its
    ledger state: written as ``PlanJob``'s text is."""

    __slots__ = ("job", "row")

    def __init__(self, job: Packed, row: Any = None) -> None:
        self.job = job
        self.row = row


def _packed_text(item: PlanPacked, newline: str) -> str:
    """``_job_text`` of a job given as its packed rows (``project.Packed``): the same
    text, no ``Job``, ``Post`` or ``Pos`` built (`plan --json` of 100,000 jobs)."""
    job, known = item.job, item.row
    post, row = job.post, job.row
    (c, pid, at, local, _a, status, _cu, _lang, _p, _ap, _tp, queue, _after, moved_from) = post
    (key, _i, account, network, part, parts, text, media_list, length, limit, digest, pos) = row[
        :12
    ]
    title = row[13]
    e = _encode_str
    if media_list:
        out: list[str] = []
        _encode(
            [{"path": m.source, "alt": m.alt} for m in media_list], newline + "  ", out, _no_flush
        )
        media = "".join(out)
    else:
        media = "[]"
    if known is None:
        url = reason = "null"
    else:
        url = "null" if known.url is None else e(known.url)
        reason = "null" if known.reason is None else e(known.reason)
    local_text = e(local.isoformat())
    if queue is None:
        queued = ("null", "null", "null")
    else:
        moved = "null" if moved_from is None else e(moved_from.astimezone(local.tzinfo).isoformat())
        queued = (e(queue), local_text, moved)
    return _job_template(newline) % (
        e(key),
        e(c),
        e(pid),
        e(account),
        e(network),
        int.__repr__(part),
        int.__repr__(parts),
        e(at.isoformat()),
        local_text,
        e(getattr(local.tzinfo, "key", str(local.tzinfo))),
        e(status),
        "null" if title is None else e(title),
        e(text),
        media,
        int.__repr__(length),
        "null" if limit is None else int.__repr__(limit),
        e(digest),
        e(f"{pos[0]}:{pos[1]}:{pos[2]}"),
        e(job_state(job, known)),
        url,
        reason,
        *queued,
    )


def _queue_fields(job: Job) -> tuple[str, str, str]:
    post = job.post
    if post.queue is None:
        return ("null", "null", "null")
    moved = "null" if post.moved_from is None else _encode_str(_moved(job).isoformat())
    return (_encode_str(post.queue), _encode_str(post.local.isoformat()), moved)


_STATE_STYLE = {
    "published": "green",
    "failed": "red",
    "unknown": "magenta",
    "missed": "red",
    "skipped": "dim",
    "sending": "cyan",
    "scheduled": "blue",
}


class Share(Protocol):
    """A stretch of the plan's rows made by another process (``cmctl.fanout``)."""

    def counts(self) -> tuple[int, set[tuple[str, str]]]:
        """(lines, its posts as (calendar, post id)) once made: a post may have jobs in
        two shares (two files named alike), and is counted once."""

    def copy(self) -> None:
        """Write its lines where the output has got to."""

    def again(self) -> Iterable[tuple[Job | Packed, Any]]:
        """Its rows, made here (a plan small enough for a table)."""


def plan_layout(show_utc: bool = True) -> tuple[bool, bool]:
    """(show_utc, narrow) for this terminal: narrow keeps time, account, length and
    state, and trims the rest."""
    narrow = console().width < 140
    return show_utc and not narrow, narrow


def render_plan_text(
    rows: Iterable[tuple[Job | Packed, Any]],
    *,
    show_utc: bool = True,
    shares: Iterable[Share] = (),
    layout: tuple[bool, bool] | None = None,
) -> None:
    """The plan: (job, its ledger state or None) in plan order, as a table, or above
    ``STREAM_ROWS`` rows as fixed-width lines written as the rows come. ``shares``:
    the rows after these, made by other processes with ``layout`` (``plan_layout``'s,
    worked out once for all of them)."""
    from itertools import chain, islice

    from rich.markup import escape
    from rich.table import Table

    out = console()
    shares = list(shares)
    rows = iter(rows)
    head = list(islice(rows, STREAM_ROWS + 1))
    later = 0 if len(head) > STREAM_ROWS else sum(s.counts()[0] for s in shares)
    if not head and not later:
        out.print("[dim]no jobs in this range[/]")
        return
    show_utc, narrow = layout or plan_layout(show_utc)
    if len(head) + later > STREAM_ROWS:
        sys.stdout.write(plan_header(show_utc=show_utc, narrow=narrow))
        seen: set[tuple[str, str]] = set()  # a post in two shares is one post
        count, _ = write_plan_lines(chain(head, rows), show_utc=show_utc, narrow=narrow, posts=seen)
        for share in shares:
            share.copy()
            lines, more = share.counts()
            count += lines
            seen |= more
        sys.stdout.write(plan_footer(count, len(seen)))
        sys.stdout.flush()
        return
    head += chain.from_iterable(s.again() for s in shares)
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("when (local)", no_wrap=True, min_width=24)
    if show_utc:
        table.add_column("UTC", no_wrap=True, style="dim", min_width=6)
    table.add_column("account", no_wrap=True, max_width=24)
    if not narrow:
        table.add_column("network", no_wrap=True, style="dim", min_width=8)
    table.add_column("post", no_wrap=True, max_width=16 if narrow else 28)
    table.add_column("text", overflow="ellipsis", no_wrap=True, max_width=20 if narrow else 48)
    table.add_column("length", justify="right", no_wrap=True, min_width=7)
    table.add_column("state", no_wrap=True, min_width=9)
    for job, known in head:
        over = job.limit is not None and job.length > job.limit
        length = f"{job.length}/{job.limit}" if job.limit is not None else str(job.length)
        post = job.post_id + (f" #{job.part}" if job.part else "")
        if job.status == "draft":
            post += " [yellow](draft)[/]"
        row = [f"{job.local:%a %Y-%m-%d %H:%M %Z}"]
        if show_utc:
            row.append(f"{job.at:%H:%MZ}")
        row += [escape(job.account)]
        if not narrow:
            row.append(job.network)
        row += [
            post,
            ("↳ " if job.part else "") + escape(first_line(job.text)),
            f"[red]{length}[/]" if over else length,
        ]
        state = job_state(job, known)
        style = _STATE_STYLE.get(state.split(",")[0].split(" ")[0], "")
        note = queue_note(job)
        row.append((f"[{style}]{state}[/]" if style else state) + escape(note))
        table.add_row(*row)
    out.print(table)
    posts = len({(j.calendar, j.post_id) for j, _ in head})
    out.print(f"[dim]{len(head)} jobs from {posts} posts[/]")


def render_queue_text(slots: list[dict[str, Any]], *, days: int) -> None:
    """`cmctl queue`: each slot and account, the post that takes it or "free"."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not slots:
        out.print(f"[dim]no slot in the next {days} day(s)[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("when (local)", "queue", "account", "post"):
        table.add_column(name, no_wrap=True)
    free = 0
    for slot in slots:
        when = datetime.fromisoformat(slot["utc"]).astimezone(ZoneInfo(slot["timezone"]))
        post = slot["post"]
        free += post is None
        table.add_row(
            f"{when:%a %Y-%m-%d %H:%M %Z}",
            escape(slot["queue"]),
            escape(slot["account"]),
            f"{escape(slot['calendar'])}:{escape(post)}" if post else "[green]free[/]",
        )
    out.print(table)
    out.print(f"[dim]{len(slots)} slot(s) in the next {days} day(s), {free} free[/]")


# A table is measured whole before its first line: above this many rows, fixed-width
# lines are written as they come instead (the first rows at once, in little memory).
STREAM_ROWS = 2000


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def plan_header(*, show_utc: bool, narrow: bool) -> str:
    """The first line of the plan's fixed-width lines."""
    post_width, text_width = (16, 20) if narrow else (28, 48)
    head = [f"{'when (local)':<24}"] + (["UTC   "] if show_utc else [])
    head += [f"{'account':<24}"] + ([] if narrow else [f"{'network':<9}"])
    head += [f"{'post':<{post_width}}", f"{'text':<{text_width}}", " length", "state"]
    return " ".join(head).rstrip() + "\n"


def plan_footer(count: int, posts: int) -> str:
    return f"{count} jobs from {posts} posts\n"


def write_plan_lines(
    rows: Iterable[tuple[Job | Packed, Any]],
    *,
    show_utc: bool,
    narrow: bool,
    posts: set[tuple[str, str]] | None = None,
) -> tuple[int, int]:
    """One fixed-width line per (job, ledger state), written as they come: (how many
    lines, how many posts they come from). ``posts``: where the (calendar, post id)
    of each job are gathered."""
    write = sys.stdout.write
    post_width, text_width = (16, 20) if narrow else (28, 48)
    lines: list[str] = []
    if posts is None:
        posts = set()
    count = 0
    for job, known in rows:
        count += 1
        posts.add((job.calendar, job.post_id))
        length = f"{job.length}/{job.limit}" if job.limit is not None else str(job.length)
        post = job.post_id + (f" #{job.part}" if job.part else "")
        if job.status == "draft":
            post += " (draft)"
        row = [f"{job.local.strftime('%a %Y-%m-%d %H:%M %Z'):<24}"]
        if show_utc:
            row.append(f"{job.at:%H:%MZ}")
        row.append(f"{_fit(job.account, 24):<24}")
        if not narrow:
            row.append(f"{job.network:<9}")
        text = ("↳ " if job.part else "") + first_line(job.text).replace("\t", " ")
        row += [
            f"{_fit(post, post_width):<{post_width}}",
            f"{_fit(text, text_width):<{text_width}}",
            f"{length:>7}",
            job_state(job, known) + queue_note(job),
        ]
        lines.append(" ".join(row))
        if len(lines) >= 200:
            lines.append("")
            write("\n".join(lines))
            lines.clear()
    if lines:
        lines.append("")
        write("\n".join(lines))
    return count, len(posts)


# ---------------------------------------------------------------------------- publishing
_MARKS = {
    "published": ("✓", "green"),
    "would-send": ("→", "cyan"),
    "retry": ("↻", "yellow"),
    "failed": ("✗", "red"),
    "unknown": ("?", "magenta"),
    "missed": ("⏰", "red"),
    "busy": ("·", "dim"),
    "held": ("‖", "yellow"),  # the emergency brake (cmctl/brake.py)
    "already": ("=", "green"),
    "would-retry": ("↻", "cyan"),
    "would-fail": ("✗", "cyan"),
    "would-miss": ("⏰", "cyan"),
    "would-unknown": ("?", "cyan"),
    "would-skip": ("-", "cyan"),
    # schedule: network
    "scheduled": ("⇥", "blue"),
    "rescheduled": ("⇥", "blue"),
    "taken-back": ("↩", "yellow"),
    "would-schedule": ("⇥", "cyan"),
    "would-reschedule": ("⇥", "cyan"),
    "would-take-back": ("↩", "cyan"),
    "would-confirm": ("?", "cyan"),
}


class OutcomePrinter:
    """Prints one line per outcome as it happens; a progress bar for big bursts."""

    def __init__(self, *, enabled: bool = True, err: bool = False) -> None:
        self.enabled = enabled
        self.err = err
        self._out: Console | None = None
        self.progress: Any = None
        self.task: Any = None

    @property
    def out(self) -> Console:
        """The console, made on first use: a cron tick with nothing due imports no rich."""
        if self._out is None:
            self._out = console(self.err)
        return self._out

    def __enter__(self) -> OutcomePrinter:
        return self

    def __exit__(self, *_: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def start(self, total: int) -> None:
        if self.enabled and total > 20 and self.out.is_terminal:
            from rich.progress import Progress

            self.progress = Progress(console=self.out, transient=False)
            self.task = self.progress.add_task("publishing", total=total)
            self.progress.start()

    def __call__(self, outcome: Any) -> None:
        if not self.enabled:
            return
        if self.progress is not None:
            if outcome.state in ("published", "failed", "unknown", "missed"):
                self.progress.advance(self.task)
            if outcome.state == "published":
                return
        self.out.print(outcome_line(outcome))


def outcome_line(o: Any) -> str:
    from rich.markup import escape

    mark, colour = _MARKS.get(o.state, ("•", "white"))
    post = o.post_id + (f" #{o.part}" if o.part else "")
    line = (
        f"[{colour}]{mark} {o.state:<10}[/] {o.scheduled_at:%Y-%m-%d %H:%MZ}  "
        f"{escape(o.account)} [dim]({o.network})[/]  {escape(post)}"
    )
    if o.url:
        line += f"  → {escape(o.url)}"
    if o.state == "retry" and o.next_attempt_at is not None:
        line += f"  [yellow]next try {o.next_attempt_at:%H:%M:%SZ}[/]"
    if o.message and o.state != "published":
        line += f"\n    [dim]{escape(o.message)}[/]"
    return line


def render_publish_summary(result: Any, *, dry_run: bool) -> None:
    if not result.outcomes and not result.attention():
        import click

        click.echo("nothing due")  # the usual cron tick: plain, and without loading rich
        return
    from collections import Counter

    from rich.markup import escape

    out = console()
    err = console(err=True)
    for line in result.attention():
        err.print(f"[red bold]needs a human:[/] {escape(line)}")
    counts = Counter(o.state for o in result.outcomes)
    if not result.outcomes:
        out.print("[dim]nothing due[/]")
        return
    order = (
        "would-send",
        "would-retry",
        "would-fail",
        "would-unknown",
        "would-miss",
        "published",
        "already",
        "retry",
        "failed",
        "unknown",
        "missed",
        "busy",
        "held",
        # schedule: network
        "would-schedule",
        "would-reschedule",
        "would-take-back",
        "would-confirm",
        "scheduled",
        "rescheduled",
        "taken-back",
    )
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    colour = "green" if result.ok or dry_run else "red"
    out.print(f"[{colour} bold]{', '.join(parts)}[/]")


Line = list[tuple[str, str]]  # (text, rich style): one printed line, markup-free


def status_lines(report: dict[str, Any]) -> list[Line]:
    """The human view of `cmctl status`, as styled pieces of text (no markup to escape)."""
    if not report["ledger"]:
        return [[("nothing published yet (no ledger in the state folder)", "dim")]]
    order: tuple[str, ...] = (
        "pending",
        "sending",
        "published",
        "failed",
        "unknown",
        "missed",
        "skipped",
    )
    counts = report["counts"]
    pauses: list[Line] = []
    for p in report.get("pauses", []):
        resume = "cmctl resume" + (f" {p['account']}" if p["account"] else "")
        pauses.append(
            [("PAUSED", "red bold"), (f" {p['what']}: {p['text']}; `{resume}` lifts it", "")]
        )
    if counts.get("scheduled"):  # schedule: network: held by the network for its time
        order += ("scheduled",)
    first: Line = []
    for s in order:
        first += [(f"{'  ' if first else ''}{s}: ", ""), (str(counts.get(s, 0)), "bold")]
    lines = [*pauses, first]  # an active pause is the first thing said
    daemon = report["daemon"]
    if daemon is None:
        lines.append([("daemon: ", ""), ("never ran here", "dim")])
    elif daemon.get("alive"):
        lines.append(
            [
                ("daemon: ", ""),
                ("running", "green"),
                (f" (pid {daemon.get('pid')}, heartbeat {daemon.get('heartbeat_age_s')}s ago)", ""),
            ]
        )
    else:
        lines.append(
            [
                ("daemon: ", ""),
                (str(daemon.get("state", "stopped")), "yellow"),
                (f", last heartbeat {daemon.get('heartbeat')} (pid {daemon.get('pid')})", ""),
            ]
        )
    if report["next"]:
        lines.append([(f"next job: {report['next']}", "")])
    for r in report.get("retrying", []):
        lines.append(
            [
                ("↻ retrying", "yellow"),
                (
                    f" {r['key']} (attempt {r['attempts']}, next {r['next_attempt_at']}): "
                    f"{r['reason'] or ''}",
                    "",
                ),
            ]
        )
    for line in report.get("blocked", []):
        lines.append([("needs a human:", "red bold"), (f" {line}", "")])
    if report["attention"]:
        lines.append([(f"{len(report['attention'])} job(s) need a human:", "red bold")])
        for r in report["attention"]:
            mark, colour = _MARKS.get(r["state"], ("•", "white"))
            lines.append(
                [
                    ("  ", ""),
                    (f"{mark} {r['state']:<8}", colour),
                    (f" {r['key']} ", ""),
                    (f"({r['network']}, due {r['scheduled_at']})", "dim"),
                ]
            )
            if r["reason"]:
                lines.append([(f"      {r['reason']}", "")])
        lines.append(
            [
                ("  ", ""),
                (
                    "settle with `cmctl resolve KEY --published URL | --not-published"
                    " | --skip`, or `cmctl retry KEY`",
                    "dim",
                ),
            ]
        )
    return lines


# Cell widths of the few non-ASCII characters the status view prints itself.
_PLAIN_WIDTH = {"✓": 1, "→": 1, "↻": 1, "✗": 1, "·": 1, "•": 1, "⏰": 2}
_RICH_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS")


def _plain_text(lines: list[Line]) -> str | None:
    """The lines as rich would print them off a terminal (no colour; 160 columns, or
    $COLUMNS), or None when rich could print them otherwise: a line that would wrap, a
    character whose width or handling (tabs, control codes, wide ones) only rich knows."""
    import os

    if sys.stdout.isatty() or any(name in os.environ for name in _RICH_ENV):
        return None
    columns = os.environ.get("COLUMNS")
    if columns is not None and not columns.isdigit():
        return None
    width = int(columns) if columns is not None else 160
    out = []
    for line in lines:
        text = "".join(piece for piece, _ in line)
        cells = 0
        for ch in text:
            if " " <= ch <= "~":
                cells += 1
            elif ch in _PLAIN_WIDTH:
                cells += _PLAIN_WIDTH[ch]
            else:
                return None
        if cells >= width:
            return None
        out.append(text)
    return "\n".join(out) + "\n"


def render_status(report: dict[str, Any]) -> None:
    """Rich is loaded only where it changes the result (a terminal, a line it would
    wrap): `cmctl status` run by a monitor answers without it."""
    lines = status_lines(report)
    plain = _plain_text(lines)
    if plain is not None:
        sys.stdout.write(plain)
        sys.stdout.flush()
        return
    from rich.text import Text

    out = console()
    for line in lines:
        out.print(Text.assemble(*line))
