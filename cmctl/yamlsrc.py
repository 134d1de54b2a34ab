"""YAML → position-keeping nodes, safely.

cmctl reads YAML from libyaml's event stream (``yaml.CSafeLoader`` when available)
and composes its own small nodes, iteratively, so that:

- every node keeps its ``line:col`` (1-based) for error messages;
- duplicate keys are reported instead of silently overwritten;
- plain scalars are resolved by YAML 1.2 core rules (null, true/false, numbers) and
  never as YAML 1.1 timestamps or ``yes``/``no`` booleans: cmctl reads dates itself;
- hostile input (deep nesting, alias bombs, binary files, bad encodings, huge files)
  ends in a :class:`YamlProblem` with a position, never a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from typing import Any, cast

import yaml
from yaml import events as ev

try:  # libyaml makes parsing ~10x faster; fall back to pure Python when absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 8 * 1024 * 1024  # a calendar larger than this is a mistake, not a calendar
MAX_DEPTH = 64
MAX_ALIASES = 1000
# What aliases may expand to, counted in characters of the scalars reached through
# them (a tree alias counts every scalar under it, keys included). A calendar that
# repeats a long text through aliases would otherwise cost time and memory per use in
# every later stage (counting, hashing, the ledger): a few uses of a few KB are fine.
MAX_ALIAS_EXPANSION = 1_000_000


class YamlProblem(Exception):
    """The file cannot be read as YAML. ``line``/``col`` are 1-based."""

    def __init__(self, message: str, line: int = 1, col: int = 1, rule: str = "yaml-syntax"):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.rule = rule


class Node:
    __slots__ = ("col", "line")
    line: int
    col: int
    kind = "node"


class Scalar(Node):
    __slots__ = ("plain", "text", "value")
    kind = "scalar"

    def __init__(self, value: Any, text: str, plain: bool, line: int, col: int) -> None:
        self.value = value  # resolved: None, bool, int, float or str
        self.text = text  # exactly as written (unquoted)
        self.plain = plain
        self.line = line
        self.col = col


class Seq(Node):
    __slots__ = ("items",)
    kind = "sequence"

    def __init__(self, line: int, col: int) -> None:
        self.items: list[Node] = []
        self.line = line
        self.col = col


class Map(Node):
    __slots__ = ("items", "keys")
    kind = "mapping"

    def __init__(self, line: int, col: int) -> None:
        self.items: dict[str, Node] = {}  # key text -> value node
        self.keys: dict[str, Scalar] = {}  # key text -> key node (for positions)
        self.line = line
        self.col = col

    def get(self, key: str) -> Node | None:
        return self.items.get(key)


@dataclass(frozen=True, slots=True)
class Duplicate:
    key: str
    line: int
    col: int
    first_line: int


@dataclass(slots=True)
class Document:
    root: Node | None
    duplicates: list[Duplicate]


_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_STR_TAGS = frozenset({None, "!", "tag:yaml.org,2002:str"})


def _resolve(text: str) -> Any:
    if text in _NULLS:  # "" is handled by the caller
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    c = text[0]
    if c.isdigit() or c in "-+.":
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
            return float(text)
    return text


def decode(data: bytes) -> str:
    """Bytes of a YAML file → text, or a YamlProblem saying what is wrong with them."""
    if len(data) > MAX_BYTES:
        raise YamlProblem(
            f"file is {len(data) // (1024 * 1024)} MB; cmctl reads files up to "
            f"{MAX_BYTES // (1024 * 1024)} MB",
            rule="file",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlProblem("file is UTF-16; save it as UTF-8", rule="encoding")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise YamlProblem("file contains NUL bytes: is it a binary file?", line, 1, "encoding")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            "file is not valid UTF-8 here; save it as UTF-8", line, col, "encoding"
        ) from None


def parse(text: str) -> Document:
    """Compose the single YAML document in ``text``."""
    loader = _Loader(text)
    try:
        return _compose(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        raise YamlProblem(_tidy(message), line, col) from None
    except yaml.reader.ReaderError as exc:
        line, col = _offset_to_line_col(text, exc.position)
        raise YamlProblem(
            f"character {exc.character!r} is not allowed in YAML", line, col, "encoding"
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(_tidy(str(exc))) from None
    finally:
        loader.dispose()


def _tidy(message: str) -> str:
    return " ".join(message.split())


def _offset_to_line_col(text: str, position: int) -> tuple[int, int]:
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _compose(loader: Any) -> Document:
    # The hot loop of `cmctl validate`: locals over globals, one branch per event type.
    get_event = loader.get_event
    check_event = loader.check_event
    ScalarEvent, MappingStart, SequenceStart = (
        ev.ScalarEvent,
        ev.MappingStartEvent,
        ev.SequenceStartEvent,
    )
    MappingEnd, SequenceEnd, AliasEvent = ev.MappingEndEvent, ev.SequenceEndEvent, ev.AliasEvent
    DocumentStart = ev.DocumentStartEvent
    resolve, str_tags = _resolve, _STR_TAGS
    duplicates: list[Duplicate] = []
    anchors: dict[str, Node] = {}
    aliases = 0
    expanded = 0  # characters reached through aliases so far
    sizes: dict[int, int] = {}  # id(node) -> characters under it, for anchored nodes
    root: Node | None = None
    stack: list[Node] = []  # open containers
    pending_keys: list[Scalar | None] = []  # for a mapping on the stack: its pending key
    documents = 0

    while check_event():
        event = get_event()
        cls = type(event)
        if cls is ScalarEvent:
            mark = event.start_mark
            tag = event.tag
            value = event.value
            if tag is None and event.implicit[0]:
                node: Node = Scalar(
                    resolve(value) if value else None, value, True, mark.line + 1, mark.column + 1
                )
            elif tag in str_tags:
                node = Scalar(value, value, False, mark.line + 1, mark.column + 1)
            else:
                raise YamlProblem(
                    f"YAML tag {tag} is not supported here; write a plain value",
                    mark.line + 1,
                    mark.column + 1,
                )
            if event.anchor is not None:
                anchors[event.anchor] = node
            if not stack:
                root = node
                continue
            parent = stack[-1]
            if type(parent) is Map and pending_keys[-1] is None:
                pending_keys[-1] = cast(Scalar, node)  # keys are scalars (checked below)
                continue
        elif cls is MappingStart or cls is SequenceStart:
            mark = event.start_mark
            if event.tag is not None and event.tag not in (
                "!",
                "tag:yaml.org,2002:map",
                "tag:yaml.org,2002:seq",
            ):
                raise YamlProblem(
                    f"YAML tag {event.tag} is not supported here",
                    mark.line + 1,
                    mark.column + 1,
                )
            if len(stack) >= MAX_DEPTH:
                raise YamlProblem(
                    f"nested more than {MAX_DEPTH} levels deep",
                    mark.line + 1,
                    mark.column + 1,
                    "structure",
                )
            node = (
                Map(mark.line + 1, mark.column + 1)
                if cls is MappingStart
                else Seq(mark.line + 1, mark.column + 1)
            )
            if event.anchor is not None:
                anchors[event.anchor] = node
            _attach(stack, pending_keys, node, duplicates)
            stack.append(node)
            pending_keys.append(None)
            continue
        elif cls is MappingEnd or cls is SequenceEnd:
            node = stack.pop()
            pending_keys.pop()
            if not stack:
                root = node
            continue
        elif cls is AliasEvent:
            mark = event.start_mark
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YamlProblem(
                    f"more than {MAX_ALIASES} aliases", mark.line + 1, mark.column + 1, "structure"
                )
            target = anchors.get(event.anchor)
            if target is None:
                raise YamlProblem(
                    f"alias *{event.anchor} has no anchor", mark.line + 1, mark.column + 1
                )
            if any(open_node is target for open_node in stack):
                raise YamlProblem(
                    f"alias *{event.anchor} is inside the node it names (a loop)",
                    mark.line + 1,
                    mark.column + 1,
                    "structure",
                )
            expanded += _size(target, sizes)
            if expanded > MAX_ALIAS_EXPANSION:
                raise YamlProblem(
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} characters "
                    f"(at *{event.anchor})",
                    mark.line + 1,
                    mark.column + 1,
                    "structure",
                )
            node = target
            if not stack:
                root = node
                continue
        elif cls is DocumentStart:
            documents += 1
            if documents > 1:
                mark = event.start_mark
                raise YamlProblem(
                    "a file holds one YAML document; remove the second '---'",
                    mark.line + 1,
                    mark.column + 1,
                    "structure",
                )
            continue
        else:  # stream start/end, document end
            continue
        _attach(stack, pending_keys, node, duplicates)
    return Document(root, duplicates)


def _size(node: Node, sizes: dict[int, int]) -> int:
    """Characters of the scalars under ``node`` (keys included), memoised per node.

    An anchored mapping or sequence is complete when an alias names it (an alias to a
    node still open is refused), so its size does not change once computed."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        t = type(current)
        if t is Scalar:
            total += len(current.text) + 1  # type: ignore[attr-defined]
        else:
            memo = sizes.get(id(current))
            if memo is not None:
                total += memo
            elif t is Map:
                stack.extend(current.keys.values())  # type: ignore[attr-defined]
                stack.extend(current.items.values())  # type: ignore[attr-defined]
            else:
                stack.extend(current.items)  # type: ignore[attr-defined]
        if total > MAX_ALIAS_EXPANSION:
            break  # enough to refuse it
    sizes[id(node)] = total
    return total


def _attach(
    stack: list[Node], pending_keys: list[Scalar | None], node: Node, duplicates: list[Duplicate]
) -> None:
    if not stack:
        return
    parent = stack[-1]
    if type(parent) is Seq:
        parent.items.append(node)
        return
    assert type(parent) is Map
    key = pending_keys[-1]
    if key is None:
        if type(node) is not Scalar:
            raise YamlProblem(
                "a key must be a plain value, not a list or mapping", node.line, node.col
            )
        pending_keys[-1] = node
        return
    pending_keys[-1] = None
    name = key.text
    if name == "<<":
        raise YamlProblem(
            "merge keys (<<) are not supported; use 'defaults:' for shared values",
            key.line,
            key.col,
            "structure",
        )
    first = parent.keys.get(name)
    if first is not None:
        duplicates.append(Duplicate(name, key.line, key.col, first.line))
        return  # the first occurrence wins; the duplicate is reported
    parent.keys[name] = key
    parent.items[name] = node


def read_bounded(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> bytes:
    """A regular file's bytes, at most ``limit`` of them, never blocking.

    Opened with O_NONBLOCK so that a FIFO cannot hang cmctl, checked with fstat to be
    a regular file (not a device such as /dev/zero, a folder or a socket) and read up
    to ``limit + 1`` bytes. Raises OSError (errno set, strerror says why) otherwise.
    """
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"file is larger than {limit:,} bytes")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"file is larger than {limit:,} bytes")
    return data


def load_file(data: bytes) -> Document:
    """Decode and parse one file's bytes (raises YamlProblem)."""
    return parse(decode(data))
