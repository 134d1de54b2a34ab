"""Renderers: the human view (rich), --json / --format json, and GitHub annotations.

A command picks one renderer once per run; the JSON carries the same data as the
human view under stable keys.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from cmctl.compile import Job
    from cmctl.diagnostics import Diagnostic


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
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# ---------------------------------------------------------------------------- diagnostics
@cache
def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return []


def render_diagnostics_text(diagnostics: Iterable[Diagnostic], *, err: bool = False,
                            frames: bool = True) -> None:
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
        return (value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
                .replace(":", "%3A").replace(",", "%2C"))

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


def job_dict(job: Job) -> dict[str, Any]:
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
        "text": job.text,
        "media": [{"path": m.source, "alt": m.alt} for m in job.media],
        "length": job.length,
        "limit": job.limit,
        "content_hash": job.content_hash,
        "source": f"{job.pos.path}:{job.pos.line}:{job.pos.col}",
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def render_plan_text(jobs: list[Job], *, show_utc: bool = True) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not jobs:
        out.print("[dim]no jobs in this range[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("when (local)", no_wrap=True)
    if show_utc:
        table.add_column("UTC", no_wrap=True, style="dim")
    table.add_column("account", no_wrap=True)
    table.add_column("network", no_wrap=True, style="dim")
    table.add_column("post", no_wrap=True)
    table.add_column("text", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("length", justify="right", no_wrap=True, min_width=7)
    for job in jobs:
        over = job.limit is not None and job.length > job.limit
        length = f"{job.length}/{job.limit}" if job.limit is not None else str(job.length)
        post = job.post_id + (f" #{job.part}" if job.part else "")
        if job.status == "draft":
            post += " [yellow](draft)[/]"
        row = [f"{job.local:%a %Y-%m-%d %H:%M %Z}"]
        if show_utc:
            row.append(f"{job.at:%H:%MZ}")
        row += [
            escape(job.account),
            job.network,
            post,
            ("  ↳ " if job.part else "") + escape(first_line(job.text)),
            f"[red]{length}[/]" if over else length,
        ]
        table.add_row(*row)
    out.print(table)
    posts = len({(j.calendar, j.post_id) for j in jobs})
    out.print(f"[dim]{len(jobs)} jobs from {posts} posts[/]")
