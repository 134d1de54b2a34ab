"""Posting quotas: how many posts an account may publish in any rolling window.

A network declares its quotas on its class (``quotas = (Quota(300, timedelta(hours=3)),)``).
Two pure helpers use them, each on one account's times:

- :func:`over` finds the posts of a plan that go over a quota (``validate`` and ``plan``
  warn, rule ``quota``): one pass of a sliding window over the sorted times.
- :func:`quota_wait` tells the sender how long to wait before the next post fits every
  quota, given the times of what the account already sent: waiting for the window is
  better than burning 429s (or an X free plan's day).

Windows are rolling and half-open: a quota of N per 24 h allows N posts in any 24 hours,
and a post exactly 24 h after another no longer shares its window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Counts = Literal["posts", "roots", "replies"]


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``posts`` publications per account in any window of ``per``."""

    posts: int
    per: timedelta
    # Which parts of a post count: "posts" every part (each is a post of its own),
    # "roots" the first part only, "replies" the thread parts only (Threads keeps a
    # separate reply quota).
    counts: Counts = "posts"
    note: str = ""  # shown after the figure, e.g. "free plan"

    def __post_init__(self) -> None:
        if self.posts < 1 or self.per <= timedelta(0):
            raise ValueError(f"a quota needs posts >= 1 and a positive window: {self!r}")

    def applies_to(self, part: int) -> bool:
        """Does a job of this thread part (0 = the post itself) count against it?"""
        if self.counts == "roots":
            return part == 0
        if self.counts == "replies":
            return part > 0
        return True

    def describe(self, title: str) -> str:
        """'Mastodon allows 300 posts per 3 h', with the note and what counts."""
        what = {"posts": "posts", "roots": "posts", "replies": "thread replies"}[self.counts]
        note = f" ({self.note})" if self.note else ""
        return f"{title} allows {self.posts} {what} per {window(self.per)}{note}"


def window(per: timedelta) -> str:
    """A window as people say it: '24 h', '3 h', '15 min', '30 s', '7 d'."""
    seconds = int(per.total_seconds())
    if seconds > 86400 and seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


@dataclass(frozen=True, slots=True)
class Overrun:
    """The first post of a plan that goes over one quota, and how many do in all."""

    index: int  # in the sorted times given to ``over``
    since: datetime  # the first post of the window it overfills (quota.posts + 1 posts)
    total: int  # posts of the plan over this quota (this one included)


def over(quota: Quota, times: Sequence[datetime]) -> Overrun | None:
    """The first of ``times`` (sorted, aware) that goes over ``quota``, or None.

    One pass: the window's start moves forward as its end does, so 100,000 times cost
    100,000 steps. A post goes over when the window of ``quota.per`` that ends with it
    holds more than ``quota.posts`` posts.
    """
    first: tuple[int, datetime] | None = None
    total = 0
    start = 0
    limit = quota.posts
    per = quota.per
    for end, at in enumerate(times):
        while at - times[start] >= per:
            start += 1
        if end - start + 1 > limit:
            total += 1
            if first is None:
                first = (end, times[end - limit])
    if first is None:
        return None
    return Overrun(first[0], first[1], total)


def quota_wait(
    quotas: Iterable[Quota],
    sent: Iterable[tuple[datetime, int]],
    now: datetime,
    part: int = 0,
) -> float | None:
    """Seconds to wait before part ``part`` of a post fits every quota, None when it fits now.

    ``sent`` holds (when, part) of what the account published (any order; times older
    than the longest window are ignored). The answer is when enough of the posts in the
    window have aged out of it for one more to go.
    """
    applicable = [q for q in quotas if q.applies_to(part)]
    if not applicable:
        return None
    history = list(sent)
    wait = 0.0
    for quota in applicable:
        times = sorted(at for at, p in history if quota.applies_to(p) and at > now - quota.per)
        excess = len(times) - quota.posts + 1
        if excess > 0:
            frees = times[excess - 1] + quota.per  # the moment the window holds one fewer
            wait = max(wait, (frees - now).total_seconds())
    return wait if wait > 0 else None
