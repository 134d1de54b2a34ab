"""A scripted network for the publisher's contract tests (not a real network).

The publisher must behave the same whatever network declares a strategy: this class
declares one from the test (``Idempotency``, ``finds``) and answers from a script, over
an in-memory "server" that keeps what was committed. Real networks are exercised
against their own fakes, written from their docs, in tests/networks/test_contract.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from cmctl.networks.base import (
    Ambiguous,
    Duplicate,
    Idempotency,
    Network,
    NotReady,
    Outgoing,
    Sent,
)


class Server:
    """What the network has: posts by id, and the script of the next answers."""

    def __init__(self) -> None:
        self.posts: dict[str, dict[str, Any]] = {}
        self.finds: list[datetime] = []
        # each step: "ok", "commit-then-fail" (Ambiguous after the post exists),
        # "fail-before" (Ambiguous, nothing stored), "duplicate", "not-ready"
        self.script: list[str] = []
        self.uploads = 0
        self.hidden_finds = 0  # look-ups that see nothing yet (a lagging read)

    def next(self) -> str:
        return self.script.pop(0) if self.script else "ok"

    def texts(self) -> list[str]:
        return [p["text"] for p in self.posts.values()]


SERVER = Server()


class Scripted(Network):
    name: ClassVar[str] = "scripted"
    title: ClassVar[str] = "Scripted"
    max_length: ClassVar[int | None] = None
    threads: ClassVar[bool] = True
    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=1)  # used by KEY
    finds: ClassVar[bool] = True

    def publish(self, out: Outgoing) -> Sent:
        step = SERVER.next()
        if step == "not-ready":
            if not (out.checkpoint or {}).get("uploaded"):
                SERVER.uploads += 1
                out.save({"uploaded": f"media-{SERVER.uploads}"})
            raise NotReady("the media is still being processed", retry_in=30)
        if step == "duplicate":
            raise Duplicate("the network says this is a duplicate of an existing post")
        if step == "fail-before":
            raise Ambiguous("timeout before the network got it")
        post_id = f"p{len(SERVER.posts) + 1}"
        SERVER.posts[post_id] = {
            "text": out.text,
            "key": out.key,
            "media": (out.checkpoint or {}).get("uploaded"),
        }
        if step == "commit-then-fail":
            raise Ambiguous("502 after the network stored it")
        return Sent(post_id, f"https://scripted.example/{post_id}", {"id": post_id})

    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        SERVER.finds.append(since)
        if SERVER.hidden_finds > 0:
            SERVER.hidden_finds -= 1
            return None
        for post_id, post in SERVER.posts.items():
            if post["key"] == out.key:  # a real adapter compares its own marker or text
                return Sent(post_id, f"https://scripted.example/{post_id}", {"id": post_id})
        return None


_UNDO: list[tuple[str, Any]] = []


def declare(**attrs: Any) -> None:
    """Change the declaration for the current test (``restore`` puts it back)."""
    for name, value in attrs.items():
        _UNDO.append((name, getattr(Scripted, name)))
        setattr(Scripted, name, value)


def restore() -> None:
    while _UNDO:
        name, value = _UNDO.pop()
        setattr(Scripted, name, value)
