"""Calendars + config → jobs. Pure: the same input always gives the same jobs and keys.

A job is one post for one account, and one job per thread part. Its identity is
(calendar, post id, account, part), written ``calendar:post@account`` plus ``#N``
for thread part N. Text and time are deliberately not part of it: editing a post
never makes it a new post, which is what lets the publisher never post twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from cmctl.calendar.model import Calendar, Media, Pos
from cmctl.config import Config
from cmctl.networks import registry


@dataclass(frozen=True, slots=True)
class Job:
    key: str
    calendar: str
    post_id: str
    account: str
    network: str
    part: int  # 0 = the post itself, N = thread part N (a reply to part N-1)
    parts: int  # how many parts this post has for this account
    at: datetime  # aware, UTC
    local: datetime  # aware, in the calendar's zone
    text: str
    media: tuple[Media, ...]
    status: str
    catch_up: timedelta
    lang: tuple[str, ...]
    length: int  # counted the network's way
    limit: int | None
    content_hash: str
    pos: Pos
    problems: tuple[str, ...] = ()  # what the network would reject in this text

    @property
    def post_key(self) -> str:
        return f"{self.calendar}:{self.post_id}@{self.account}"


def job_key(calendar: str, post_id: str, account: str, part: int = 0) -> str:
    base = f"{calendar}:{post_id}@{account}"
    return f"{base}#{part}" if part else base


@cache
def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def content_hash(text: str, media: tuple[Media, ...]) -> str:
    """What was (or will be) sent: text, and each attachment's bytes and alt text."""
    h = hashlib.sha256(text.encode("utf-8"))
    for m in media:
        h.update(b"\0media\0" + _file_digest(m.path).encode() + b"\0" + (m.alt or "").encode())
    return h.hexdigest()[:16]


def compile_jobs(calendars: list[Calendar], config: Config) -> list[Job]:
    """Every job of every post, sorted by time, then calendar, post, account and part."""
    jobs: list[Job] = []
    for calendar in calendars:
        for post in calendar.posts:
            for account_name in post.accounts:
                account = config.accounts.get(account_name)
                if account is None:
                    continue  # reported by the rules
                network = registry.get(account.network)
                parts = post.content_for(account_name, account.network).parts(post.pos)
                if not network.threads:
                    parts = parts[:1]  # the rules report the thread as an error
                for index, part in enumerate(parts):
                    length, limit, problems = network.check_text(
                        part.text, has_media=bool(part.media), account=account.options
                    )
                    jobs.append(
                        Job(
                            key=job_key(calendar.name, post.id, account_name, index),
                            calendar=calendar.name,
                            post_id=post.id,
                            account=account_name,
                            network=account.network,
                            part=index,
                            parts=len(parts),
                            at=post.at,
                            local=post.local,
                            text=part.text,
                            media=part.media,
                            status=post.status,
                            catch_up=post.catch_up,
                            lang=post.lang,
                            length=length,
                            limit=limit,
                            content_hash=content_hash(part.text, part.media),
                            pos=part.pos,
                            problems=tuple(problems),
                        )
                    )
    jobs.sort(key=lambda j: (j.at, j.calendar, j.post_id, j.account, j.part))
    return jobs
