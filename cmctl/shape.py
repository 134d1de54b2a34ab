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


def _is(node: Node, type_name: str) -> bool:
    t = type(node)
    if type_name == "object":
        return t is Map
    if type_name == "array":
        return t is Seq
    if t is not Scalar:
        return False
    v = node.value  # type: ignore[attr-defined]
    if type_name == "string":
        return type(v) is str
    if type_name == "integer":
        return type(v) is int
    if type_name == "number":
        return type(v) in (int, float)
    if type_name == "boolean":
        return type(v) is bool
    if type_name == "null":
        return v is None
    raise ValueError(type_name)


def _describe(node: Node) -> str:
    if type(node) is Scalar:
        v = node.value  # type: ignore[attr-defined]
        if v is None:
            return "empty"
        if isinstance(v, bool):
            return "true/false"
        if isinstance(v, (int, float)):
            return f"the number {node.text}"  # type: ignore[attr-defined]
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

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _label(self, where: str) -> str:
        return f"'{where}'" if where else "the file"

    def _check(self, node: Node, schema: dict[str, Any], where: str, sink: Sink) -> None:
        schema = self._resolve(schema)
        if "anyOf" in schema:
            options = [self._resolve(s) for s in schema["anyOf"]]
            for option in options:
                if self._type_ok(node, option):
                    self._check(node, option, where, sink)
                    return
            wanted = " or ".join(_TYPE_NAMES[t] for o in options for t in _types(o))
            sink.error(node.line, node.col,
                       f"{self._label(where)} must be {wanted}, not {_describe(node)}", "type")
            return
        if not self._type_ok(node, schema):
            wanted = " or ".join(_TYPE_NAMES[t] for t in _types(schema))
            hint = None
            if type(node) is Scalar and "string" in _types(schema) and node.plain:  # type: ignore[attr-defined]
                hint = f'quote it: "{node.text}"'  # type: ignore[attr-defined]
            sink.error(node.line, node.col,
                       f"{self._label(where)} must be {wanted}, not {_describe(node)}", "type",
                       hint)
            return
        t = type(node)
        if t is Scalar:
            self._scalar(node, schema, where, sink)  # type: ignore[arg-type]
        elif t is Map:
            self._mapping(node, schema, where, sink)  # type: ignore[arg-type]
        elif t is Seq:
            self._sequence(node, schema, where, sink)  # type: ignore[arg-type]

    def _type_ok(self, node: Node, schema: dict[str, Any]) -> bool:
        types = _types(schema)
        return not types or any(_is(node, t) for t in types)

    def _scalar(self, node: Scalar, schema: dict[str, Any], where: str, sink: Sink) -> None:
        value = node.value
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(str(c) for c in schema["enum"])
            sink.error(node.line, node.col,
                       f"{self._label(where)} is '{node.text}'; expected one of: {choices}"
                       + suggest(str(node.text), [str(c) for c in schema["enum"]]), "value")
            return
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                sink.error(node.line, node.col, f"{self._label(where)} is empty", "value")
                return
            pattern = schema.get("pattern")
            if pattern and not _pattern(pattern).search(value):
                hint = schema.get("x-hint")
                sink.error(node.line, node.col,
                           f"{self._label(where)} '{value}' is not valid"
                           + (f": {hint}" if hint else f" (must match {pattern})"), "value")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            minimum = schema.get("minimum")
            if minimum is not None and value < minimum:
                sink.error(node.line, node.col,
                           f"{self._label(where)} must be at least {minimum}", "value")

    def _mapping(self, node: Map, schema: dict[str, Any], where: str, sink: Sink) -> None:
        props: dict[str, Any] = schema.get("properties", {})
        closed = schema.get("additionalProperties") is False
        extra = schema.get("additionalProperties")
        for key, value in node.items.items():
            child = f"{where}.{key}" if where else key
            if key in props:
                self._check(value, props[key], child, sink)
            elif closed:
                k = node.keys[key]
                sink.error(k.line, k.col,
                           f"unknown key '{key}'" + (f" in '{where}'" if where else "")
                           + suggest(key, props), "unknown-key")
            elif isinstance(extra, dict):
                self._check(value, extra, child, sink)
        for key in schema.get("required", ()):
            if key not in node.items:
                sink.error(node.line, node.col,
                           f"{self._label(where)} is missing required key '{key}'", "required")

    def _sequence(self, node: Seq, schema: dict[str, Any], where: str, sink: Sink) -> None:
        if len(node.items) < schema.get("minItems", 0):
            sink.error(node.line, node.col, f"{self._label(where)} is an empty list", "value")
        items = schema.get("items")
        if items is not None:
            for index, child in enumerate(node.items):
                self._check(child, items, f"{where}[{index}]", sink)


def _types(schema: dict[str, Any]) -> tuple[str, ...]:
    t = schema.get("type")
    if t is None:
        return ()
    return (t,) if isinstance(t, str) else tuple(t)
