"""`cmctl add`: append one post to a calendar file without touching the rest of it.

The new post is written by ruamel.yaml (quoting, block scalars), in the indentation the
file already uses, and inserted as text at the end of `posts:`: every byte outside the
new post stays as it was (comments, quotes, blank lines, CRLF, a missing last newline).
The result is parsed again and compared with the original before anything is written,
and the whole project is validated with the file as it would be (nothing is written when
it is invalid). The write is atomic: a temporary file beside it, renamed over it.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cmctl import atomic
from cmctl.calendar.ids import slug, unique_id
from cmctl.calendar.schema import SLUG, SLUG_HINT
from cmctl.config import Config, display
from cmctl.diagnostics import Diagnostic, Sink
from cmctl.errors import CmctlError, UsageError

_SLUG = re.compile(SLUG)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Request:
    """What the user asked for, as given on the command line."""

    at: str
    text: str
    accounts: tuple[str, ...] = ()
    media: tuple[tuple[str, str | None], ...] = ()  # (path, alt)
    id: str | None = None
    repeat: str | None = None
    draft: bool = False


@dataclass(slots=True)
class Addition:
    """The file as it is and as it would be, and what was added."""

    path: Path
    before: bytes | None  # None: the file does not exist yet
    after: bytes
    id: str
    snippet: str  # the YAML of the new post, as inserted (LF line ends)
    lines: tuple[int, int]  # its first and last line in the new file
    timezone: str | None = None  # set when the file is created
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.before is None


# ---------------------------------------------------------------------- which file
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A `calendars:` glob as a regex over a POSIX path relative to the project root."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def matches_globs(config: Config, path: Path) -> bool:
    relative = path.relative_to(config.root).as_posix()
    return any(_glob_regex(p.removeprefix("./")).match(relative) for p in config.calendar_globs)


def named_calendar(config: Config, name: str) -> Path:
    """`--calendar NAME`: calendars/NAME.yaml (or .yml when that one exists)."""
    bare = name.strip()
    if bare.endswith((".yaml", ".yml")):
        bare = bare.rsplit(".", 1)[0]
    if not _NAME.match(bare) or ".." in bare.split("/"):
        raise UsageError(
            f"--calendar {name!r} is not a calendar name",
            hint="give the file's name under calendars/ without extension, e.g. 2027-01",
        )
    path = config.root / "calendars" / f"{bare}.yaml"
    other = path.with_suffix(".yml")
    if not path.exists() and other.exists():
        path = other
    for known in config.calendar_files():  # the project's own spelling of the same file
        if os.path.abspath(known) == os.path.abspath(path):
            return known
    if not matches_globs(config, path):
        globs = ", ".join(repr(g) for g in config.calendar_globs)
        raise UsageError(
            f"{display(path)} matches none of the calendar globs ({globs})",
            hint="cmctl would never read it: check `calendars:` in cmctl.yaml",
        )
    return path


def months(first: date, last: date) -> tuple[date, date]:
    """The first day of ``first``'s month and the last day of ``last``'s."""
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return first.replace(day=1), date.fromordinal(end.toordinal() - 1)


def pick_calendar(config: Config, day: date, now: datetime) -> Path:
    """The one calendar file whose posts' months contain ``day``."""
    from cmctl.calendar.loader import load_calendar

    found: list[tuple[Path, date, date] | tuple[Path, None, None]] = []
    for path in config.calendar_files():
        calendar = load_calendar(path, config, Sink(display(path)), now)
        days = [p.local.date() for p in calendar.posts] if calendar is not None else []
        found.append((path, *months(min(days), max(days))) if days else (path, None, None))
    chosen = [path for path, a, b in found if a is not None and b is not None and a <= day <= b]
    if len(chosen) == 1:
        return chosen[0]
    spans = "; ".join(
        f"{display(p)} {f'{a:%Y-%m}..{b:%Y-%m}' if a and b else '(no posts)'}" for p, a, b in found
    )
    which = "several calendars cover" if chosen else "no calendar covers"
    raise UsageError(
        f"{which} {day.isoformat()} (calendars and the months of their posts: {spans or 'none'})",
        hint="say which file with --calendar NAME (calendars/NAME.yaml, created if missing)",
    )


# ---------------------------------------------------------------------- the id
def check_id(given: str, used: set[str]) -> str:
    if not _SLUG.match(given):
        raise UsageError(f"--id {given!r} is not a valid post id", hint=SLUG_HINT)
    if given in used:
        raise UsageError(
            f"--id {given!r} is already used in this calendar",
            hint="ids are unique in a calendar: pick another, or leave --id out",
        )
    return given


# ---------------------------------------------------------------------- the YAML text
@dataclass(frozen=True, slots=True)
class Style:
    dash: int = 2  # column of the posts' '-' (0-based)
    offset: int = 2  # a nested sequence's '-', relative to its key
    mapping: int = 2  # a post's keys, relative to its '-'
    flow_items: bool = False  # posts written as {id: ..., at: ...}


def post_data(request: Request, post_id: str) -> Any:
    """The new post as ruamel round-trip data (key order and styles as written)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    data = CommentedMap()
    data["id"] = post_id
    data["at"] = request.at.strip()
    if request.accounts:
        accounts = CommentedSeq(request.accounts)
        accounts.fa.set_flow_style()
        data["accounts"] = accounts
    text = request.text
    data["text"] = LiteralScalarString(text) if "\n" in text else text
    if request.media:
        media = CommentedSeq()
        for path, alt in request.media:
            one = CommentedMap()
            one["path"] = path
            if alt is not None:
                one["alt"] = alt
            media.append(one)
        data["media"] = media
    if request.repeat:
        data["repeat"] = request.repeat
    if request.draft:
        data["status"] = "draft"
    return data


def dump(data: Any, style: Style) -> str:
    """One post as a sequence item: lines with LF ends, its '-' at column ``style.dash``
    (no final line break); in flow style when the file's posts are."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096  # never fold a long text over several lines
    yaml.indent(mapping=style.mapping, sequence=style.mapping + style.offset, offset=style.offset)
    if style.flow_items:
        data.fa.set_flow_style()
    out = io.StringIO()
    yaml.dump([data], out)
    lines = out.getvalue().rstrip("\n").split("\n")
    lead = len(lines[0]) - len(lines[0].lstrip(" "))
    pad = " " * style.dash
    return "\n".join(pad + line[lead:] if line.strip() else "" for line in lines)


def dump_flow(data: Any) -> str:
    """One post as a flow mapping, for `posts: [{...}, ...]` files."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.default_flow_style = True
    plain = _plain(data)
    out = io.StringIO()
    yaml.dump(plain, out)
    return out.getvalue().strip()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


# ---------------------------------------------------------------------- insertion
def _newline(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _last_leaf(node: Any) -> Any:
    """The node whose end is the end of ``node``'s written text (its last scalar, or a
    flow collection): a block collection's own end mark runs over trailing comments."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    while True:
        if isinstance(node, MappingNode) and node.value and not node.flow_style:
            node = node.value[-1][1]
        elif isinstance(node, SequenceNode) and node.value and not node.flow_style:
            node = node.value[-1]
        else:
            return node


def _line_end(text: str, index: int) -> int:
    """Where the line holding ``index`` ends (before its line break)."""
    nl = text.find("\n", index)
    if nl < 0:
        return len(text)
    return nl - 1 if nl > 0 and text[nl - 1] == "\r" else nl


def _content_end(text: str, index: int) -> int:
    """``index`` moved back over whitespace and line breaks."""
    while index > 0 and text[index - 1] in " \t\r\n":
        index -= 1
    return index


class Inserted(NamedTuple):
    """The new text is ``before + lead + snippet (line ends as the file's) + after``."""

    before: str
    lead: str
    snippet: str  # LF line ends
    after: str
    nl: str

    @property
    def text(self) -> str:
        return self.before + self.lead + self.snippet.replace("\n", self.nl) + self.after

    @property
    def lines(self) -> tuple[int, int]:
        """The first and last line (1-based) of the new post in the new text."""
        first = (self.before + self.lead).count("\n") + 1
        return first, first + self.snippet.count("\n")


def insert_post(
    text: str, data: Any, timezone: str | None = None, *, at_end_mark: bool = False
) -> Inserted:
    """``data`` at the end of `posts:` in ``text``: after the last post's last line, or
    (``at_end_mark``) where the parser says its last value ends, blank lines included
    (a `|+` text keeps its trailing line breaks)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    nl = _newline(text)
    try:
        root = YAML().compose(text) if text.strip() else None
    except YAMLError as exc:
        raise CmctlError(
            f"cannot add to a file that is not valid YAML: {str(exc).splitlines()[0]}",
            hint="fix the file first (cmctl validate shows where)",
        ) from None
    if root is None:  # empty file, or a new one
        head = f"timezone: {timezone}\n\n" if timezone else ""
        snippet = dump(data, Style())
        body = (text + (nl if text and not text.endswith("\n") else "")) if text.strip() else ""
        return Inserted(body, (head + "posts:\n").replace("\n", nl), snippet, nl, nl)
    if not isinstance(root, MappingNode):
        raise CmctlError("cannot add: the file's top level is not a mapping of keys")
    posts_key = next((k for k, _ in root.value if getattr(k, "value", None) == "posts"), None)
    if posts_key is None:  # no posts: yet: the key goes at the end of the file
        snippet = dump(data, Style(offset=2, dash=root.start_mark.column + 2))
        pre = text if text.endswith("\n") or not text else text + nl
        return Inserted(pre, " " * root.start_mark.column + "posts:" + nl, snippet, nl, nl)
    posts = next(v for k, v in root.value if k is posts_key)
    key_col = posts_key.start_mark.column
    if isinstance(posts, SequenceNode) and posts.flow_style and posts.value:
        snippet = dump_flow(data)
        close = _content_end(text, posts.end_mark.index - 1)  # before the ']'
        return Inserted(text[:close], ", ", snippet, text[close:], nl)
    if isinstance(posts, SequenceNode) and posts.value:
        dash = posts.start_mark.column
        first = posts.value[0]
        mapping = first.start_mark.column - dash if isinstance(first, MappingNode) else 2
        last = posts.value[-1]
        flow_items = isinstance(last, MappingNode) and bool(last.flow_style)
        style = Style(dash, max(0, dash - key_col), max(2, mapping), flow_items)
        snippet = dump(data, style)
        leaf_end = _last_leaf(last).end_mark.index
        if at_end_mark and text[leaf_end - 1 : leaf_end] == "\n":
            return Inserted(text[:leaf_end], "", snippet, nl + text[leaf_end:], nl)
        at = _line_end(text, _content_end(text, leaf_end))
        lead = nl
        if len(posts.value) > 1:  # posts separated by a blank line: this one too
            prev = _line_end(text, _content_end(text, _last_leaf(posts.value[-2]).end_mark.index))
            if re.search(r"\n[ \t]*\r?\n", text[prev : last.start_mark.index]):
                lead = nl + nl
        return Inserted(text[:at], lead, snippet, text[at:], nl)
    # posts: [] / posts: / posts: ~ : a block sequence right after the key
    if not isinstance(posts, (SequenceNode, ScalarNode)) or (
        isinstance(posts, ScalarNode) and posts.tag != "tag:yaml.org,2002:null"
    ):
        raise CmctlError(
            f"cannot add: 'posts' (line {posts_key.start_mark.line + 1}) is not a list",
            hint="make it a list of posts (cmctl validate shows the problem)",
        )
    snippet = dump(data, Style(dash=key_col + 2, offset=2))
    start, end = posts.start_mark.index, posts.end_mark.index
    if isinstance(posts, ScalarNode) and end <= start:
        # `posts:` and nothing (or a comment) after it: the post goes on the next line.
        at = _line_end(text, posts_key.end_mark.index)
        return Inserted(text[:at], nl, snippet, text[at:], nl)
    # `posts: []` or `posts: ~`: the value goes; a comment after it stays on the key's line.
    tail = text[end:]
    cut = text[:start].rstrip(" \t")
    line_end = _line_end(tail, 0)
    rest_of_line = tail[:line_end]
    if rest_of_line.strip():
        return Inserted(cut + rest_of_line, nl, snippet, tail[line_end:], nl)
    return Inserted(cut, nl, snippet, tail, nl)


def _posts(document: Any) -> list[Any]:
    posts = document.get("posts") if isinstance(document, dict) else None
    return list(posts) if isinstance(posts, list) else []


def verify(old: str, new: str, data: Any, timezone: str | None = None) -> None:
    """The new text must read as the old one plus the new post, at the end of posts."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    def load(text: str) -> Any:
        return _plain(YAML(typ="safe", pure=True).load(text)) if text.strip() else None

    try:
        before, after = load(old), load(new)
    except YAMLError:
        before, after = None, None
    rest_before = {k: v for k, v in (before or {}).items() if k != "posts"}
    if timezone and not old.strip():
        rest_before["timezone"] = timezone
    rest_after = {k: v for k, v in (after or {}).items() if k != "posts"}
    if _posts(after) != [*_posts(before), _plain(data)] or rest_before != rest_after:
        raise CmctlError(
            "cannot add the post without changing the rest of the file (a layout cmctl add "
            "does not handle); nothing was written",
            hint="add the post with an editor; cmctl add --dry-run prints its YAML",
        )


def used_ids(text: str) -> set[str]:
    from ruamel.yaml import YAML

    document = YAML(typ="safe", pure=True).load(text) if text.strip() else None
    return {str(p["id"]) for p in _posts(document) if isinstance(p, dict) and "id" in p}


# ---------------------------------------------------------------------- the whole step
def prepare(config: Config, path: Path, request: Request, *, timezone: str | None) -> Addition:
    """The file as it would be with the post added (nothing written)."""
    before: bytes | None
    try:
        before = path.read_bytes()
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise UsageError(f"cannot read {display(path)}: {exc.strerror or exc}") from None
    zone = None
    if before is None:
        zone = timezone or config.timezone
        if not zone:
            raise UsageError(
                f"{display(path)} does not exist and no time zone is known for it",
                hint="give --timezone (e.g. Europe/Paris) or set defaults.timezone in cmctl.yaml",
            )
    raw = before or b""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{display(path)} is not UTF-8 text") from None
    bom = BOM if decoded.startswith(BOM) else ""
    text = decoded[len(bom) :]
    used = used_ids(text) if text.strip() else set()
    if request.id is not None:
        post_id = check_id(request.id, used)
    else:
        post_id = unique_id(slug(request.text), used)
    data = post_data(request, post_id)
    inserted = insert_post(text, data, zone)
    try:
        verify(text, inserted.text, data, zone)
    except CmctlError:
        inserted = insert_post(text, data, zone, at_end_mark=True)
        verify(text, inserted.text, data, zone)
    new = inserted.text
    after = (bom + new).encode("utf-8")
    return Addition(path, before, after, post_id, inserted.snippet, inserted.lines, zone)


def write(addition: Addition) -> None:
    """Atomically: a temporary file in the same folder, renamed over the file (its mode
    kept). Refused when the file changed since it was read."""
    path = addition.path
    try:
        now_bytes: bytes | None = path.read_bytes()
    except FileNotFoundError:
        now_bytes = None
    if now_bytes != addition.before:
        raise CmctlError(
            f"{display(path)} changed while the post was being added; nothing was written",
            hint="run the command again",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, addition.after)


# ---------------------------------------------------------------------- validation
@dataclass(slots=True)
class Checked:
    diagnostics: list[Diagnostic]  # the whole project's, as `cmctl validate` reports them
    errors: int
    warnings: int
    local: datetime | None = None  # the new post's local time
    timezone: str | None = None
    accounts: tuple[str, ...] = ()


def check(config: Config, addition: Addition, now: datetime) -> Checked:
    """The whole project validated as `cmctl validate` does, with the file as it would be."""
    from cmctl.calendar.loader import load_calendar
    from cmctl.ledger import preview
    from cmctl.ledger.memory import queue_memory
    from cmctl.project import open_project

    has_ledger = preview.has_ledger(config)
    instead = {addition.path: addition.after}
    memory = queue_memory(config.state_dir)
    project = open_project(config, (), now=now, keep=has_ledger, instead=instead, memory=memory)
    if has_ledger:
        project.report.extend(preview.diagnostics(project))
    report = project.report
    checked = Checked(project.diagnostics, report.errors, report.warnings)
    calendar = load_calendar(addition.path, config, Sink(""), now, addition.after)
    if calendar is not None:
        mine = [p for p in calendar.posts if p.id.split("~")[0] == addition.id]
        if mine:
            checked.local = mine[0].local
            checked.timezone = calendar.timezone
            checked.accounts = mine[0].accounts
    return checked
