"""The emergency brake: `cmctl pause` / `cmctl resume`.

A pause stops publishing for the whole project or for some accounts, whatever runs the
publisher (cron, the daemon, a `cmctl publish` by hand). It lives in the ledger (a meta
row per scope, see ``PAUSE_PREFIX`` in cmctl/ledger/store.py), so every process sees it
at its next look, and the claim that starts every send checks it in the same statement:
once `cmctl pause` has returned, no new send starts; a send already claimed finishes.

While paused, due jobs are held (reported, never sent, never marked missed). Once the
pause is lifted, the next run sends what is still within its catch-up window and marks
the rest `missed`, as for a machine that was off.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cmctl.errors import CmctlError
from cmctl.ledger.store import PAUSE_ALL, PAUSE_PREFIX, Ledger, iso, parse_iso


class Paused(CmctlError):
    """An action the pause forbids (`publish --post` on a paused account)."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Pause:
    scope: str  # PAUSE_ALL ("*": the whole project) or an account name
    reason: str | None
    by: str  # user@host
    since: datetime

    @property
    def whole_project(self) -> bool:
        return self.scope == PAUSE_ALL

    @property
    def what(self) -> str:
        return "everything" if self.whole_project else f"account '{self.scope}'"

    def describe(self) -> str:
        """``paused since 2027-01-04 09:30Z by ana@laptop (product recall)``"""
        text = f"paused since {self.since:%Y-%m-%d %H:%M:%SZ} by {self.by}"
        return text + (f" ({self.reason})" if self.reason else "")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "scope": "all" if self.whole_project else self.scope,
            "account": None if self.whole_project else self.scope,
            "reason": self.reason,
            "by": self.by,
            "since": self.since.isoformat(),
        }


def who() -> str:
    """user@host of the person pulling the brake (for `status`)."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _parse(name: str, value: str) -> Pause | None:
    try:
        data = json.loads(value)
        since = parse_iso(data.get("since"))
    except (ValueError, TypeError, AttributeError):
        return None
    if since is None:
        return None
    reason = data.get("reason")
    return Pause(
        name[len(PAUSE_PREFIX) :],
        reason if isinstance(reason, str) else None,
        str(data.get("by") or "unknown"),
        since,
    )


def active(ledger: Ledger) -> list[Pause]:
    """Every pause in force: the whole project's first, then accounts by name.

    A row too damaged to read still pauses (the claim sees the row, not its value):
    it is reported as set by "unknown"."""
    return active_from(ledger.metas(PAUSE_PREFIX))


def active_from(rows: dict[str, str]) -> list[Pause]:
    """``active`` over meta rows already read (name -> value)."""
    found = []
    for name, value in rows.items():
        pause = _parse(name, value)
        if pause is None:
            pause = Pause(name[len(PAUSE_PREFIX) :], "unreadable pause record", "unknown", _EPOCH)
        found.append(pause)
    return sorted(found, key=lambda p: (not p.whole_project, p.scope))


def holding(pauses: Iterable[Pause], account: str) -> Pause | None:
    """The pause that holds this account's jobs, if any (the whole project's first)."""
    for pause in pauses:
        if pause.whole_project or pause.scope == account:
            return pause
    return None


def pause(
    ledger: Ledger, accounts: list[str], reason: str | None, now: datetime, by: str | None = None
) -> list[Pause]:
    """Pause these accounts (none: the whole project). Pausing again replaces the
    reason; returns the pauses set. Committed when this returns."""
    by = by or who()
    scopes = sorted(set(accounts)) or [PAUSE_ALL]
    made = [Pause(scope, reason or None, by, now) for scope in scopes]
    with ledger.transaction() as db:
        for p in made:
            value = json.dumps({"reason": p.reason, "by": p.by, "since": iso(p.since)})
            db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (PAUSE_PREFIX + p.scope, value),
            )
    return made


def resume(ledger: Ledger, accounts: list[str]) -> list[Pause]:
    """Lift the pause of these accounts (none: every pause). Returns what was lifted.

    An account cannot be resumed alone while the whole project is paused: that raises
    Paused, saying how to lift it."""
    current = active(ledger)
    if accounts:
        whole = holding([p for p in current if p.whole_project], "")
        if whole is not None:
            raise Paused(
                f"the whole project is {whole.describe()}; resuming "
                f"{', '.join(sorted(set(accounts)))} alone would not send anything",
                hint="`cmctl resume` (no account) lifts the whole project's pause; then "
                "`cmctl pause ACCOUNT…` keeps the others paused",
            )
        wanted = {PAUSE_PREFIX + a for a in accounts}
    else:
        wanted = {PAUSE_PREFIX + p.scope for p in current}
    lifted = set(ledger.delete_meta(sorted(wanted)))
    return [p for p in current if PAUSE_PREFIX + p.scope in lifted]


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
