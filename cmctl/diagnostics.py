"""Diagnostics: what validation found, where, and how bad."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: Severity
    message: str
    rule: str
    hint: str | None = None
    # False for files that may hold secrets (cmctl.yaml): never quote their lines
    frame: bool = field(default=True, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
            "rule": self.rule,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message} [{self.rule}]"


@dataclass(slots=True)
class Report:
    """Diagnostics collected across files, deduplicated, in a stable order."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[Diagnostic] = field(default_factory=set)

    def add(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.items.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        for d in diagnostics:
            self.add(d)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.items if d.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.items if d.severity == "warning")

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.path, d.line, d.col, d.rule, d.message))


class Sink:
    """Collects diagnostics for one file, so checks can say `sink.error(node, ...)`."""

    __slots__ = ("frame", "items", "path")

    def __init__(self, path: str, *, frame: bool = True) -> None:
        self.path = path
        self.frame = frame
        self.items: list[Diagnostic] = []

    def error(self, line: int, col: int, message: str, rule: str, hint: str | None = None) -> None:
        self.items.append(
            Diagnostic(self.path, line, col, "error", message, rule, hint, self.frame)
        )

    def warning(
        self, line: int, col: int, message: str, rule: str, hint: str | None = None
    ) -> None:
        self.items.append(
            Diagnostic(self.path, line, col, "warning", message, rule, hint, self.frame)
        )
