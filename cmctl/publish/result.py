"""What a run reports: one Outcome per decision, and the run's PublishResult."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cmctl.publish.policy import DRY_NAMES


@dataclass(slots=True)
class Outcome:
    key: str
    account: str
    network: str
    post_id: str
    part: int
    state: str  # published | retry | failed | unknown | missed | already | busy, or
    # in a dry run the same decision named would-send, would-miss, would-fail...
    scheduled_at: datetime
    url: str | None = None
    message: str | None = None
    next_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "account": self.account,
            "network": self.network,
            "post": self.post_id,
            "part": self.part,
            "state": self.state,
            "scheduled_at": self.scheduled_at.isoformat(),
            "url": self.url,
            "message": self.message,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


@dataclass(slots=True)
class PublishResult:
    outcomes: list[Outcome] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # calendar files with errors
    problems: list[str] = field(default_factory=list)  # accounts that could not be used
    sync: dict[str, int] = field(default_factory=dict)
    fast: bool = False  # nothing changed and nothing was due: the calendars were not read
    held_posts: dict[str, str] = field(default_factory=dict)  # post key -> why not sent
    vanished: dict[str, int] = field(default_factory=dict)  # calendar -> jobs kept, unsent

    @property
    def final(self) -> dict[str, Outcome]:
        """The last outcome of each job (a retry that then went out is published)."""
        return {o.key: o for o in self.outcomes}

    @property
    def ok(self) -> bool:
        bad = {"failed", "unknown", "missed", "retry"}
        bad |= {DRY_NAMES[state] for state in bad}
        return not self.attention() and not any(o.state in bad for o in self.final.values())

    def attention(self) -> list[str]:
        """What stops posts from going out that is not a job's own state: said loudly
        by `publish`, kept in the ledger for `cmctl status`."""
        lines = [
            f"{path}: has errors; none of its posts is sent or cancelled until it "
            "is fixed (`cmctl validate`)"
            for path in self.held
        ]
        lines += [f"{key}: held: {why}" for key, why in sorted(self.held_posts.items())]
        lines += [
            f"calendar '{name}' is no longer in the project; its {count} scheduled "
            f"job(s) are kept and not sent: restore the file (or fix `calendars:` "
            f"in cmctl.yaml), or cancel them with `cmctl cancel {name}`"
            for name, count in sorted(self.vanished.items())
        ]
        return lines + self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def remembered(self) -> dict[str, Any]:
        """What needs a human, in parts (kept in the ledger: ``recalled`` says it again)."""
        return {
            "lines": self.attention(),
            "held": self.held,
            "held_posts": self.held_posts,
            "vanished": self.vanished,
            "problems": self.problems,
        }

    @classmethod
    def recalled(cls, parts: Any) -> PublishResult | None:
        """A run that read nothing (``fast``) and says what the last full run said needs
        a human; None when ``parts`` are not ``remembered``'s."""
        try:
            found = cls(
                fast=True,
                held=[str(p) for p in parts["held"]],
                held_posts={str(k): str(v) for k, v in parts["held_posts"].items()},
                vanished={str(k): int(v) for k, v in parts["vanished"].items()},
                problems=[str(p) for p in parts["problems"]],
            )
        except (KeyError, TypeError, AttributeError, ValueError):
            return None
        return found if found.attention() == parts.get("lines") else None


Listener = Callable[[Outcome], None]
