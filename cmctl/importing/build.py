"""Drafts → a calendar file, validated the way `cmctl validate` judges it.

The YAML is written post by post, so each post's lines are known; the calendar is then
loaded, compiled and checked by the project's own code (calendar.loader, compile,
rules) from a hidden file beside the target (media paths resolve as they will), and
each diagnostic is mapped back to the CSV row, and the cell, its post came from.
Cross-file checks (quotas, the same post in two files) are left to `cmctl validate`.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from cmctl import timeutil
from cmctl.calendar import ids
from cmctl.calendar.loader import load_calendar
from cmctl.calendar.schema import SLUG
from cmctl.compile import compile_jobs
from cmctl.config import Config, display
from cmctl.diagnostics import Diagnostic, Sink
from cmctl.errors import UsageError
from cmctl.importing.draft import Draft, Parsed, Problem, Severity, names
from cmctl.importing.reader import Cell
from cmctl.rules import check


@dataclass(slots=True)
class Options:
    zone: str  # the calendar's time zone
    accounts: tuple[str, ...]  # for rows that name none
    skip_bad: bool = False


@dataclass(slots=True)
class Outcome:
    text: str | None  # the calendar file, or None when nothing may be written
    problems: list[Problem] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # start lines of the rows left out
    posts: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass(slots=True)
class _Post:
    drafts: list[Draft]
    data: dict[str, Any]


def build(parsed: Parsed, config: Config, options: Options, target: Path, now: datetime) -> Outcome:
    problems = list(parsed.problems)
    bad = {p.record for p in problems if p.severity == "error" and p.record is not None}
    posts = _posts([d for d in parsed.drafts if d.record.line not in bad], config, options)
    problems.extend(posts.problems)
    bad.update(p.record for p in posts.problems if p.record is not None)
    # One validation: leaving a post out cannot make another one invalid (each post is
    # judged on its own in one file), so --skip-bad renders the rest without a new pass.
    kept = posts.posts
    text, starts = render(options.zone, [p.data for p in kept])
    found = _validate(text, starts, kept, config, target, now) if kept else []
    problems.extend(found)
    bad.update(p.record for p in found if p.severity == "error" and p.record is not None)
    problems = sorted(set(problems), key=lambda p: (p.line, p.col, p.message))
    errors = any(p.severity == "error" for p in problems)
    whole = any(p.severity == "error" and p.record is None for p in problems)
    if whole or (errors and not options.skip_bad):  # a problem of no row: no row to skip
        return Outcome(None, problems, [], 0)
    kept = [p for p in kept if not any(d.record.line in bad for d in p.drafts)]
    if not kept:
        return Outcome(None, problems, sorted(bad), 0)
    if errors:
        text, _ = render(options.zone, [p.data for p in kept])
    return Outcome(text, problems, sorted(bad), len(kept))


@dataclass(slots=True)
class _Posts:
    posts: list[_Post] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _posts(drafts: list[Draft], config: Config, options: Options) -> _Posts:
    out = _Posts()
    zone = timeutil.zone(options.zone)
    by_id: dict[str, _Post] = {}
    pending: list[tuple[Draft, dict[str, Any]]] = []

    def error(cell: Cell, message: str, draft: Draft) -> None:
        out.problems.append(Problem(cell.line, cell.col, "error", message, draft.record.line))

    for draft in drafts:
        ok = True
        if not draft.text.value:
            error(draft.text, "the text is empty", draft)
            ok = False
        accounts = names(draft.accounts.value) if draft.accounts else list(options.accounts)
        if not accounts:
            where = draft.accounts or Cell("", draft.record.line, 1)
            error(where, "no accounts: add an accounts column, or --accounts", draft)
            ok = False
        for name in accounts:
            if name not in config.accounts:
                where = draft.accounts or Cell("", draft.record.line, 1)
                known = ", ".join(sorted(config.accounts)) or "none"
                error(where, f"unknown account '{name}' (cmctl.yaml has: {known})", draft)
                ok = False
        if draft.id is not None and not re.match(SLUG, draft.id.value):
            error(draft.id, f"'{draft.id.value}' is not an id: use a-z, 0-9, '-' and '_'", draft)
            ok = False
        at = f"{draft.day:%Y-%m-%d} {draft.clock:%H:%M}"
        if draft.zone is not None and draft.zone.value != options.zone:
            try:
                moment = timeutil.parse_at(at, timeutil.zone(draft.zone.value)).utc
            except timeutil.TimeProblem as p:
                error(draft.zone if p.rule == "timezone" else draft.when, p.message, draft)
                ok = False
            else:
                local = moment.astimezone(zone)
                at = f"{local:%Y-%m-%d %H:%M}"
                if not _plain(at, zone) or timeutil.parse_at(at, zone).utc != moment:
                    at = local.isoformat(timespec="minutes")  # a DST overlap: keep the offset
        if not ok:
            continue
        data: dict[str, Any] = {"at": at, "accounts": list(dict.fromkeys(accounts))}
        data["text"] = draft.text.value
        if draft.link is not None:
            data["link"] = draft.link.value
        if draft.media:
            data["media"] = [
                {"path": path, **({"alt": alt} if alt else {})} for path, alt in draft.media
            ]
        if draft.id is not None:
            first = by_id.get(draft.id.value)
            if first is None:
                by_id[draft.id.value] = post = _Post([draft], {"id": draft.id.value, **data})
                out.posts.append(post)
            elif _same(first.data, data):  # one row per account (an export per job)
                first.drafts.append(draft)
                merged = first.data["accounts"] + data["accounts"]
                first.data["accounts"] = list(dict.fromkeys(merged))
            else:
                line = first.drafts[0].record.line
                error(draft.id, f"id '{draft.id.value}' is already used at line {line}", draft)
            continue
        pending.append((draft, data))
    used = set(by_id)
    for draft, data in pending:
        post_id = unique_id(draft.text.value, used)
        out.posts.append(_Post([draft], {"id": post_id, **data}))
    order = {id(d): i for i, d in enumerate(drafts)}
    out.posts.sort(key=lambda p: order[id(p.drafts[0])])
    return out


def _plain(at: str, zone: Any) -> bool:
    try:
        timeutil.parse_at(at, zone)
    except timeutil.TimeProblem:
        return False
    return True


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k not in ("id", "accounts")} == {
        k: v for k, v in b.items() if k != "accounts"
    }


def unique_id(text: str, used: set[str]) -> str:
    """A slug of the text's first words (ASCII, lowercase), unique among ``used``
    (which it joins)."""
    post_id = ids.unique_id(ids.slug(text), used)
    used.add(post_id)
    return post_id


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None  # PyYAML falls back when a block cannot hold it
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        allow_unicode=True,
        width=1_000_000,
        sort_keys=False,
        default_flow_style=False,
    )


def render(zone: str, posts: list[dict[str, Any]]) -> tuple[str, list[int]]:
    """The calendar's YAML, and the line (1-based) where each post starts."""
    parts = [
        "# Imported by `cmctl import`: check it with `cmctl validate`.\n",
        _dump({"timezone": zone}),
        "posts:\n" if posts else "posts: []\n",
    ]
    line = sum(p.count("\n") for p in parts) + 1
    starts = []
    for post in posts:
        starts.append(line)
        chunk = _dump([post])
        parts.append(chunk)
        line += chunk.count("\n")
    return "".join(parts), starts


_KEY = re.compile(r"(?:- |  )([a-z_]+):")


def _validate(
    text: str, starts: list[int], posts: list[_Post], config: Config, target: Path, now: datetime
) -> list[Problem]:
    # Beside the target, so media paths resolve as they will: a folder made for the
    # check is removed after it (a dry run leaves nothing behind).
    made = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    scratch = target.parent / f".{target.name}.import-{os.getpid()}.tmp"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_text(text, encoding="utf-8")
        sink = Sink(str(scratch))
        calendar = load_calendar(scratch, config, sink, now)
        found: list[Diagnostic] = list(sink.items)
        if calendar is not None:
            found += check([calendar], compile_jobs([calendar], config), config, now)
    finally:
        with contextlib.suppress(OSError):
            scratch.unlink()
            for folder in made:
                folder.rmdir()
    lines = text.splitlines()
    return [_mapped(d, starts, posts, lines) for d in found]


def _mapped(d: Diagnostic, starts: list[int], posts: list[_Post], lines: list[str]) -> Problem:
    severity: Severity = "error" if d.severity == "error" else "warning"
    index = bisect.bisect_right(starts, d.line) - 1
    if index < 0:
        return Problem(1, 1, severity, f"the calendar: {d.message}")
    draft = posts[index].drafts[0]
    key = "id"
    for number in range(d.line, starts[index] - 1, -1):
        m = _KEY.match(lines[number - 1])
        if m:
            key = m.group(1)
            break
    if key == "id":  # said of the whole post: where its rule points
        rule = d.rule
        key = (
            "text"
            if rule == "length"
            else "at"
            if rule == "past" or rule.startswith("time")
            else "accounts"
            if "account" in rule
            else "media"
            if "media" in rule
            else "id"
        )
    cells: dict[str, Cell | None] = {
        "id": draft.id,
        "at": draft.when,
        "accounts": draft.accounts,
        "text": draft.text,
        "link": draft.link,
        "media": draft.media_cell,
    }
    cell = cells.get(key) or Cell("", draft.record.line, 1)
    return Problem(cell.line, cell.col, severity, d.message, draft.record.line)


def write_new(target: Path, text: str) -> None:
    """Write ``target`` atomically, never over an existing file (a race included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{target.name}.import-{os.getpid()}.tmp"
    try:
        with open(scratch, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(scratch, target)
        except FileExistsError:
            raise UsageError(f"{display(target)}: already exists; not overwritten") from None
    finally:
        with contextlib.suppress(OSError):
            scratch.unlink()
