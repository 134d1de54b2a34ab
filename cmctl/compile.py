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
from typing import Any

from cmctl import media as media_files
from cmctl import utm
from cmctl.calendar.model import Calendar, Content, Media, Part, Pos, Post, split_id
from cmctl.config import Config
from cmctl.networks import registry


@dataclass(slots=True, eq=False)
class Job:
    key: str
    post: Post
    account: str
    network: str
    part: int  # 0 = the post itself, N = thread part N (a reply to part N-1)
    parts: int  # how many parts this post has for this account
    text: str
    media: tuple[Media, ...]
    length: int  # counted the network's way
    limit: int | None
    content_hash: str
    pos: Pos
    problems: tuple[str, ...] = ()  # what the network would reject in this text
    # The post's title, link and hashtags (no '#') for this account (see Outgoing).
    title: str | None = None
    link: str | None = None
    tags: tuple[str, ...] = ()
    # The text as written, when the network shows it otherwise (``Network.shown_text``:
    # Bluesky shortens long links): what the adapter receives. None: ``text`` itself.
    source: str | None = None

    @property
    def sent_text(self) -> str:
        """The text the adapter receives (``Outgoing.text``)."""
        return self.text if self.source is None else self.source

    @property
    def calendar(self) -> str:
        return self.post.calendar

    @property
    def post_id(self) -> str:
        return self.post.id

    @property
    def at(self) -> datetime:
        """Aware, UTC."""
        return self.post.at

    @property
    def local(self) -> datetime:
        """Aware, in the calendar's zone."""
        return self.post.local

    @property
    def status(self) -> str:
        return self.post.status

    @property
    def catch_up(self) -> timedelta:
        return self.post.catch_up

    @property
    def queue(self) -> str | None:
        return self.post.queue

    @property
    def moved_from(self) -> datetime | None:
        return self.post.moved_from

    @property
    def lang(self) -> tuple[str, ...]:
        return self.post.lang

    @property
    def post_key(self) -> str:
        return f"{self.post.calendar}:{self.post.id}@{self.account}"


def job_key(calendar: str, post_id: str, account: str, part: int = 0) -> str:
    base = f"{calendar}:{post_id}@{account}"
    return f"{base}#{part}" if part else base


def _file_digest(path: Path, root: Path | None) -> str:
    """Digest of a media file, recomputed when the file changes (the daemon lives long).

    Read through cmctl.media's checks (no FIFO, device, link out of the project...):
    a file cmctl must not read digests as "missing"; the rules report why.
    """
    try:
        st = path.stat()
    except (OSError, ValueError):
        return "missing"
    return _digest(path, root, st.st_size, st.st_mtime_ns, st.st_ino)


@cache
def _digest(path: Path, root: Path | None, size: int, mtime_ns: int, inode: int) -> str:
    try:
        return media_files.digest(path, root)
    except OSError:
        return "missing"


def content_hash(text: str, media: tuple[Media, ...], *fields: str) -> str:
    """What was (or will be) sent: text, each attachment's bytes and alt text, and the
    ``fields`` sent beside the text (an article's title, link and tags)."""
    h = hashlib.sha256(text.encode("utf-8"))
    for value in fields:
        h.update(b"\0field\0" + value.encode("utf-8"))
    for m in media:
        h.update(
            b"\0media\0" + _file_digest(m.path, m.root).encode() + b"\0" + (m.alt or "").encode()
        )
    return h.hexdigest()[:16]


Counted = tuple[Part, str, int, int | None, list[str], str]


def _tracked(post: Post, account: str, network: str, content: Content, config: Config) -> Any:
    """What link tracking adds to this job's links (cmctl/utm.py): part of the compile
    cache's key, since it makes the text differ per network, account and post."""
    return utm.tagging(
        content.utm,
        config.utm,
        network=network,
        account=account,
        calendar=post.calendar,
        post=split_id(post.id)[0],  # a recurring post's occurrences share it
    )


def compile_jobs(calendars: list[Calendar], config: Config) -> list[Job]:
    """Every job of every post, sorted by time, then calendar, post, account and part."""
    posts = sorted((p for c in calendars for p in c.posts), key=lambda p: (p.at, p.calendar, p.id))
    jobs: list[Job] = []
    append = jobs.append
    # Accounts without a variant share the post's content, and the occurrences of a
    # recurring post share theirs: compose it, count it and hash it once per network,
    # not once per account or occurrence. The content is kept with its parts so that
    # its id() is not reused by another while this runs.
    counted: dict[tuple[int, str, Any], tuple[object, Content, list[Counted]]] = {}
    for post in posts:
        for account_name in sorted(set(post.accounts)):  # job keys unique whatever the input
            account = config.accounts.get(account_name)
            if account is None:
                continue  # reported by the rules
            network = registry.get(account.network)
            content = post.content_for(account_name, account.network)
            tracking = _tracked(post, account_name, account.network, content, config)
            cache_key = (id(content), account.network, tracking)
            if network.length_field and network.length_field in account.options:
                cache_key = (id(content), f"{account.network}@{account_name}", tracking)
            seen = counted.get(cache_key)
            if seen is not None:
                _, content, parts = seen
            else:
                written, content = content, utm.apply(content, tracking)
                parts = []
                fields: tuple[str, ...] = ()
                if network.article:  # one article: the thread appended, the rest apart
                    composed: tuple[Part, ...] = (content.article(post.pos),)
                    fields = (content.title or "", content.link or "", " ".join(content.tags))
                else:
                    composed = content.parts(post.pos)
                    if not network.threads:
                        composed = composed[:1]  # the rules report the thread as an error
                for part in composed:
                    shown = network.shown_text(part.text)  # counted and shown as published
                    length, limit, problems = network.check_text(
                        shown, has_media=bool(part.media), account=account.options
                    )
                    digest = content_hash(part.text, part.media, *fields)
                    parts.append((part, shown, length, limit, problems, digest))
                counted[cache_key] = (written, content, parts)
            tags = content.tags
            for index, (part, shown, length, limit, problems, digest) in enumerate(parts):
                key = f"{post.calendar}:{post.id}@{account_name}"
                append(
                    Job(
                        f"{key}#{index}" if index else key,
                        post,
                        account_name,
                        account.network,
                        index,
                        len(parts),
                        shown,
                        part.media,
                        length,
                        limit,
                        digest,
                        part.pos,
                        tuple(problems),
                        content.title,
                        content.link,
                        tags,
                        None if shown == part.text else part.text,
                    )
                )
    return jobs
