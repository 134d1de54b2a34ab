"""The status view model: counts, daemon heartbeat, jobs needing a human, next job."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmctl.ledger.store import Ledger, parse_iso

if TYPE_CHECKING:
    from cmctl.config import Config

ATTENTION = ("failed", "unknown", "missed")
# cmctl.networks.credentials.STORE_NAME, named here so that a project without stored
# credentials does not load the credential machinery (tests/test_scale_paths.py checks).
CREDENTIALS_FILE = "credentials.json"
HEARTBEAT_STALE = 120  # seconds without a heartbeat before the daemon is "not responding"


def gather(ledger: Ledger | None, now: datetime) -> dict[str, Any]:
    if ledger is None:
        return {
            "counts": {},
            "daemon": None,
            "attention": [],
            "next": None,
            "ledger": False,
            "blocked": [],
            "pauses": [],
        }
    counts = ledger.counts()
    attention = [
        {
            "key": r.key,
            "state": r.state,
            "account": r.account,
            "network": r.network,
            "scheduled_at": r.scheduled_at.isoformat(),
            "reason": r.reason,
            "attempts": r.attempts,
        }
        for r in ledger.rows(states=ATTENTION)
    ]
    for r in ledger.rows(states=("sending",)):  # a claim nobody came back for
        if r.claim_expires_at is not None and r.claim_expires_at < now:
            attention.append(
                {
                    "key": r.key,
                    "state": "sending",
                    "account": r.account,
                    "network": r.network,
                    "scheduled_at": r.scheduled_at.isoformat(),
                    "attempts": r.attempts,
                    "reason": f"claimed by {r.claim_owner}, whose lease expired; the next "
                    "`cmctl publish` (or the daemon) recovers it",
                }
            )
    retrying = [
        {
            "key": r.key,
            "attempts": r.attempts,
            "reason": r.reason,
            "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
        }
        for r in ledger.retrying()
    ]
    wake = ledger.next_wakeup()
    daemon = daemon_status(ledger, now)
    stuck = blocked(ledger)
    if daemon and daemon.get("alive") and daemon.get("reload_error"):
        stuck.append(
            f"the daemon could not reload ({daemon['reload_error']}); it goes on "
            "with the plan it had: fix it, and it reloads by itself"
        )
    return {
        "ledger": True,
        "pauses": pauses(ledger),
        "counts": counts,
        "blocked": stuck,
        "daemon": daemon,
        "attention": attention,
        "retrying": retrying,
        "next": wake.isoformat() if wake else None,
    }


def pauses(ledger: Ledger) -> list[dict[str, Any]]:
    """The emergency brake's pauses in force (cmctl/brake.py), the whole project's first."""
    from cmctl import brake

    return [{**p.as_dict(), "what": p.what, "text": p.describe()} for p in brake.active(ledger)]


def blocked(ledger: Ledger) -> list[str]:
    """What the last full run could not do (held calendars and posts, vanished
    calendars, unusable accounts): kept in the ledger by the publisher."""
    raw = ledger.meta("attention")
    if raw is None:
        return []
    lines: list[str] = json.loads(raw).get("lines", [])
    return lines


def daemon_status(ledger: Ledger, now: datetime) -> dict[str, Any] | None:
    raw = ledger.meta("daemon")
    if raw is None:
        return None
    info: dict[str, Any] = json.loads(raw)
    beat = parse_iso(info.get("heartbeat"))
    if beat is not None:
        age = (now - beat).total_seconds()
        info["heartbeat_age_s"] = round(age, 1)
        info["alive"] = info.get("state") == "running" and age <= HEARTBEAT_STALE
    return info


def expiring_credentials(config: Config, now: datetime) -> list[dict[str, Any]]:
    """Credentials of the store a human must renew within 14 days (expired ones too).

    `cmctl status` prints each as a warning line; an expired one needs a human now
    (exit 1), one that merely expires soon does not change the exit status. Never
    creates the store; a store cmctl cannot use is reported the same way."""
    import os

    if not os.path.lexists(config.state_dir / CREDENTIALS_FILE):
        return []  # nothing to expire (and nothing of the credential machinery to load)
    from cmctl.errors import ConfigError
    from cmctl.networks.credentials import EXPIRING_WITHIN, CredentialStore

    try:
        found = CredentialStore(config.state_dir).expiring(
            EXPIRING_WITHIN, accounts=set(config.accounts), now=now
        )
    except ConfigError as exc:
        return [{"account": None, "expires_at": None, "expired": True, "message": str(exc)}]
    return [
        {
            "account": e.account,
            "expires_at": e.expires_at.isoformat(),
            "expired": e.expires_at <= now,
            "message": e.line(now),
        }
        for e in found
    ]
