"""Check position-keeping YAML nodes against a JSON Schema (the subset cmctl uses).

The calendar's JSON Schema (`cmctl schema`) is the single description of its shape:
editors use it, and the loader runs it through this checker so both always agree.
Supported keywords: type, properties, required, additionalProperties (false),
items, enum, pattern, minLength, minimum, minItems, anyOf, $ref (to #/$defs/...).
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any

from cmctl.diagnostics import Sink
from cmctl.yamlsrc import Map, Node, Scalar, Seq

_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}


@cache
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(p)


def _kind(node: Node) -> str:
    """The JSON Schema type of a node ("integer" nodes are also numbers)."""
    t = type(node)
    if t is Scalar:
        v = node.value  # type: ignore[attr-defined]
        vt = type(v)
        if vt is str:
            return "string"
        if vt is bool:
            return "boolean"
        if vt is int:
            return "integer"
        if vt is float:
            return "number"
        return "null"
    return "object" if t is Map else "array"


class _Compiled:
    """One schema node, digested once: the checker runs over many thousands of nodes."""

    __slots__ = (
        "any_of",
        "closed",
        "enum",
        "extra",
        "items",
        "min_items",
        "min_length",
        "minimum",
        "pattern",
        "props",
        "raw",
        "required",
        "types",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        types = _types(raw)
        self.types = frozenset(types) | ({"integer"} if "number" in types else set())
        self.props: dict[str, Any] = raw.get("properties", {})
        self.closed = raw.get("additionalProperties") is False
        extra = raw.get("additionalProperties")
        self.extra = extra if isinstance(extra, dict) else None
        self.required = tuple(raw.get("required", ()))
        self.items = raw.get("items")
        self.enum = raw.get("enum")
        self.pattern = _pattern(raw["pattern"]) if "pattern" in raw else None
        self.min_length = raw.get("minLength", 0)
        self.minimum = raw.get("minimum")
        self.min_items = raw.get("minItems", 0)
        self.any_of = raw.get("anyOf")


def _describe(node: Node) -> str:
    if type(node) is Scalar:
        v = node.value
        if v is None:
            return "empty"
        if isinstance(v, bool):
            return "true/false"
        if isinstance(v, (int, float)):
            return f"the number {node.text}"
        return "a string"
    return "a list" if type(node) is Seq else "a mapping"


def suggest(word: str, choices: list[str] | tuple[str, ...] | Any) -> str:
    """' (did you mean 'x'?)' or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Checker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self._cache: dict[int, _Compiled] = {}

    def check(self, node: Node | None, sink: Sink, where: str = "") -> bool:
        """Report every problem under ``node``; True when there were none."""
        before = len(sink.items)
        if node is None:
            sink.error(1, 1, "file is empty", "structure")
        else:
            self._check(node, self.root, where, sink)
        return len(sink.items) == before

    def check_def(self, node: Node, name: str, where: str, sink: Sink) -> bool:
        """Check ``node`` against ``#/$defs/<name>``; True when there were no problems."""
        before = len(sink.items)
        self._check(node, self.defs[name], where, sink)
        return len(sink.items) == before

    def _compile(self, schema: dict[str, Any]) -> _Compiled:
        key = id(schema)
        found = self._cache.get(key)
        if found is None:
            raw = schema
            while "$ref" in raw:
                raw = self.defs[raw["$ref"].rsplit("/", 1)[-1]]
            found = self._cache[key] = _Compiled(raw)
        return found

    def _label(self, where: str) -> str:
        return f"'{where}'" if where else "the file"

    def _check(self, node: Node, schema: dict[str, Any], where: str, sink: Sink) -> None:
        c = self._compile(schema)
        kind = _kind(node)
        if c.any_of is not None:
            options = [self._compile(s) for s in c.any_of]
            for option in options:
                if not option.types or kind in option.types:
                    self._check(node, option.raw, where, sink)
                    return
            wanted = " or ".join(_TYPE_NAMES[t] for o in options for t in _types(o.raw))
            sink.error(
                node.line,
                node.col,
                f"{self._label(where)} must be {wanted}, not {_describe(node)}",
                "type",
            )
            return
        if c.types and kind not in c.types:
            wanted = " or ".join(_TYPE_NAMES[t] for t in _types(c.raw))
            hint = None
            if type(node) is Scalar and "string" in c.types and node.plain:
                hint = f'quote it: "{node.text}"'
            sink.error(
                node.line,
                node.col,
                f"{self._label(where)} must be {wanted}, not {_describe(node)}",
                "type",
                hint,
            )
            return
        t = type(node)
        if t is Scalar:
            self._scalar(node, c, where, sink)  # type: ignore[arg-type]
        elif t is Map:
            self._mapping(node, c, where, sink)  # type: ignore[arg-type]
        elif t is Seq:
            self._sequence(node, c, where, sink)  # type: ignore[arg-type]

    def _scalar(self, node: Scalar, c: _Compiled, where: str, sink: Sink) -> None:
        value = node.value
        if c.enum is not None and value not in c.enum:
            choices = ", ".join(str(x) for x in c.enum)
            sink.error(
                node.line,
                node.col,
                f"{self._label(where)} is '{node.text}'; expected one of: {choices}"
                + suggest(str(node.text), [str(x) for x in c.enum]),
                "value",
            )
            return
        if isinstance(value, str):
            if len(value) < c.min_length:
                sink.error(node.line, node.col, f"{self._label(where)} is empty", "value")
                return
            if c.pattern is not None and not c.pattern.search(value):
                hint = c.raw.get("x-hint")
                sink.error(
                    node.line,
                    node.col,
                    f"{self._label(where)} '{value}' is not valid"
                    + (f": {hint}" if hint else f" (must match {c.pattern.pattern})"),
                    "value",
                )
        elif c.minimum is not None and isinstance(value, (int, float)) and value < c.minimum:
            sink.error(
                node.line, node.col, f"{self._label(where)} must be at least {c.minimum}", "value"
            )

    def _mapping(self, node: Map, c: _Compiled, where: str, sink: Sink) -> None:
        props = c.props
        for key, value in node.items.items():
            child = f"{where}.{key}" if where else key
            if key in props:
                self._check(value, props[key], child, sink)
            elif c.closed:
                k = node.keys[key]
                sink.error(
                    k.line,
                    k.col,
                    f"unknown key '{key}'"
                    + (f" in '{where}'" if where else "")
                    + suggest(key, props),
                    "unknown-key",
                )
            elif c.extra is not None:
                self._check(value, c.extra, child, sink)
        for key in c.required:
            if key not in node.items:
                sink.error(
                    node.line,
                    node.col,
                    f"{self._label(where)} is missing required key '{key}'",
                    "required",
                )

    def _sequence(self, node: Seq, c: _Compiled, where: str, sink: Sink) -> None:
        if len(node.items) < c.min_items:
            sink.error(node.line, node.col, f"{self._label(where)} is an empty list", "value")
        if c.items is not None:
            for index, child in enumerate(node.items):
                self._check(child, c.items, f"{where}[{index}]", sink)


def _types(schema: dict[str, Any]) -> tuple[str, ...]:
    t = schema.get("type")
    if t is None:
        return ()
    return (t,) if isinstance(t, str) else tuple(t)
