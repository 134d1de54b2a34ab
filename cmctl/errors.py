"""Every error cmctl raises on purpose. Each class carries its exit code.

Core code raises these and never prints or exits; the CLI maps them to an exit
status at one boundary (cmctl/cli/__init__.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmctl.diagnostics import Diagnostic


class CmctlError(Exception):
    """Base class: a clear message for a human, and the process exit code."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(CmctlError):
    """The command line itself is wrong."""

    exit_code = 2


class ConfigError(CmctlError):
    """cmctl.yaml is missing, unreadable or invalid."""

    exit_code = 2

    def __init__(
        self, message: str, *, hint: str | None = None, diagnostics: list[Diagnostic] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics or []


class ValidationFailed(CmctlError):
    """One or more calendars have errors (the diagnostics were already rendered)."""

    exit_code = 1
