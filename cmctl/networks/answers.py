"""Answers that are errors in disguise: what a network says inside its answer.

Some networks say "no" with a 200 (``{"ok": false, "error": "..."}``), put the delay
to wait in the JSON body instead of a Retry-After header (``parameters.retry_after``,
``retry_after``), name an expired token by an error code rather than a status, or
report how close the app is to its limit in usage headers (JSON percentages such as
``{"call_count": 96, "estimated_time_to_regain_access": 7}``).

A network declares how its answers read with ``Answers`` (``Network.answers``); the
HTTP helper (cmctl/networks/http.py) reads every answer through it, the 2xx ones too,
and raises the typed error. Pure: no httpx here, so a declaration stays light.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_WAIT", "Answers", "Reading"]

MAX_WAIT = 24 * 3600.0  # seconds; a longer (or non-numeric) delay is nonsense, capped


@dataclass(frozen=True, slots=True)
class Reading:
    """What one answer says, read through a network's ``Answers``.

    ``verdict`` is None when the body says nothing of its own, else "refused",
    "expired" (the token is revoked or expired), "later" (try again later) or "maybe"
    (the network says the operation may have partly happened)."""

    verdict: str | None = None
    said: str = ""  # the network's own words (not yet redacted)
    retry_after: float | None = None  # seconds, from the body (capped)
    usage_wait: float | None = None  # seconds to stop calling, from usage headers (capped)
    usage_said: str = ""  # which usage figure is over the limit


@dataclass(frozen=True, slots=True)
class Answers:
    """How a network says "no" or "slow down" inside its answers.

    Paths are dotted keys into the JSON body ("parameters.retry_after"); the first
    path present wins. Codes are compared as text ("190", "invalid_auth").
    """

    # A JSON field that is ``false`` when the call failed, whatever the status ("ok").
    ok: str | None = None
    # Where the network's words about a failure are ("error", "description",
    # "error.message").
    message: tuple[str, ...] = ()
    # Where its error code is ("error", "error_code", "error.code", "code").
    code: tuple[str, ...] = ()
    # Where a delay to wait before trying again is, in seconds (fractions allowed).
    retry_after: tuple[str, ...] = ()
    # Codes that mean the token is revoked or expired (AuthExpired), and statuses that
    # mean it whatever the body says (401).
    expired: frozenset[str] = frozenset()
    expired_statuses: frozenset[int] = frozenset()
    # Codes that mean "try again later" (Transient): rate limits, passing outages.
    later: frozenset[str] = frozenset()
    # Codes that mean the network may have done part of it (a "fatal_error"): a
    # create is then Ambiguous, anything else Transient.
    maybe: frozenset[str] = frozenset()
    # Headers whose JSON value carries usage percentages: at or over
    # ``usage_limit`` percent the helper stops calling for the time the header gives
    # (``estimated_time_to_regain_access``, minutes) or else ``usage_wait`` seconds.
    usage: tuple[str, ...] = ()
    usage_limit: float = 95.0
    usage_wait: float = 600.0

    def read(self, status: int, headers: Mapping[str, str], body: bytes) -> Reading:
        """Read one answer (any status). Never raises, whatever the body holds."""
        usage_wait, usage_said = self._usage(headers)
        data = _json(body) if (self.ok or self.message or self.code or self.retry_after) else None
        if not isinstance(data, dict):
            data = {}
        failed = status >= 400 or (self.ok is not None and _get(data, self.ok) is False)
        if not failed:
            return Reading(usage_wait=usage_wait, usage_said=usage_said)
        said = next(
            (str(v) for v in (_get(data, p) for p in self.message) if _text(v)),
            "",
        )
        code = next((str(v) for v in (_get(data, p) for p in self.code) if _text(v)), "")
        if code and code not in said:
            said = f"{said} ({code})" if said else code
        wait = next(
            (w for w in (_seconds(_get(data, p)) for p in self.retry_after) if w is not None),
            None,
        )
        verdict: str | None
        if status in self.expired_statuses or (code and code in self.expired):
            verdict = "expired"
        elif code and code in self.maybe:
            verdict = "maybe"
        elif (code and code in self.later) or wait is not None:
            verdict = "later"
        elif status < 400:
            verdict = "refused"  # ok: false with nothing else to go on
        else:
            verdict = None  # the status says it (a 400 stays a refusal, a 503 a retry)
        return Reading(verdict, said, wait, usage_wait, usage_said)

    def _usage(self, headers: Mapping[str, str]) -> tuple[float | None, str]:
        """Seconds to stop calling when a usage figure is at or over the limit."""
        worst: tuple[float, str] | None = None
        for name in self.usage:
            raw = headers.get(name)
            if not raw:
                continue
            for figures in _usage_entries(_json(raw.encode("utf-8", "replace"))):
                over = [
                    (k, float(v))
                    for k, v in figures.items()
                    if k != "estimated_time_to_regain_access"
                    and _number(v)
                    and float(v) >= self.usage_limit
                ]
                if not over:
                    continue
                minutes = _seconds(figures.get("estimated_time_to_regain_access"))
                wait = min(minutes * 60 if minutes else self.usage_wait, MAX_WAIT)
                key, value = max(over, key=lambda kv: kv[1])
                said = f"{name} {key} at {value:g}%"
                if worst is None or wait > worst[0]:
                    worst = (wait, said)
        return (worst[0], worst[1]) if worst else (None, "")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _get(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != ""


def _number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _seconds(value: Any) -> float | None:
    """A delay in seconds from a JSON value (a number or numeric text), capped; else None."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not _number(value):
        return None
    return min(max(float(value), 0.0), MAX_WAIT)


def _usage_entries(value: Any) -> list[Mapping[str, Any]]:
    """The figure sets of a usage header: the object itself (X-App-Usage), or each entry
    of its per-business lists (X-Business-Use-Case-Usage: {"<id>": [{...}, ...]})."""
    if not isinstance(value, Mapping):
        return []
    entries: list[Mapping[str, Any]] = [value]
    for item in value.values():
        if isinstance(item, list):
            entries += [e for e in item if isinstance(e, Mapping)]
        elif isinstance(item, Mapping):
            entries.append(item)
    return entries
