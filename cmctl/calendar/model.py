"""The typed calendar model: what a calendar file means once read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from cmctl.utm import Utm

# A recurring post's occurrence is a post of its own, identified by the post's id and the
# occurrence's local date: ``weekly-tip~2027-01-04``. Ids are slugs and never hold a
# ``~``, so the spelling is unambiguous and parses back; its job key is
# ``calendar:weekly-tip~2027-01-04@account`` (``#N`` for thread part N).
SEPARATOR = "~"


def occurrence_id(post_id: str, day: date) -> str:
    return f"{post_id}{SEPARATOR}{day.isoformat()}"


def split_id(post_id: str) -> tuple[str, date | None]:
    """``weekly-tip~2027-01-04`` → (``weekly-tip``, 2027-01-04); a plain id → (id, None)."""
    series, sep, day = post_id.partition(SEPARATOR)
    if not sep:
        return post_id, None
    try:
        return series, date.fromisoformat(day)
    except ValueError:
        return post_id, None


def describe(post_id: str) -> str:
    """How messages name a post: ``post 'weekly-tip' on 2027-01-04`` or ``post 'x'``."""
    series, day = split_id(post_id)
    return f"post '{series}' on {day.isoformat()}" if day else f"post '{post_id}'"


class Pos(NamedTuple):
    """Where something was written: file (as displayed), line, column (1-based)."""

    path: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Media:
    source: str  # the path as written
    path: Path  # absolute
    alt: str | None
    pos: Pos
    # The project folder the file must stay in (cmctl.media.open_checked checks it at
    # every read, validation and sending alike). None only for media built by hand.
    root: Path | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One publishable piece: the main post or one thread part."""

    text: str
    media: tuple[Media, ...]
    pos: Pos  # where its text (or the post) was written


@dataclass(slots=True, eq=False)
class Content:
    """Overridable content: a post's own, its defaults', or a variant's. None = not set."""

    text: str | None = None
    title: str | None = None  # an article's title (blog networks)
    link: str | None = None
    hashtags: tuple[str, ...] | None = None
    media: tuple[Media, ...] | None = None
    thread: tuple[Part, ...] | None = None
    text_pos: Pos | None = None
    pos: Pos | None = None
    utm: Utm | None = None  # link tracking (cmctl/utm.py), merged key by key

    def over(self, base: Content) -> Content:
        """This content with unset fields taken from ``base``."""
        return Content(
            text=self.text if self.text is not None else base.text,
            title=self.title if self.title is not None else base.title,
            link=self.link if self.link is not None else base.link,
            hashtags=self.hashtags if self.hashtags is not None else base.hashtags,
            media=self.media if self.media is not None else base.media,
            thread=self.thread if self.thread is not None else base.thread,
            text_pos=self.text_pos if self.text is not None else base.text_pos,
            pos=self.pos or base.pos,
            utm=self.utm.over(base.utm) if self.utm is not None else base.utm,
        )

    def parts(self, fallback: Pos) -> tuple[Part, ...]:
        """The main post (text, then link, then hashtags) followed by the thread parts."""
        blocks = [b for b in ((self.text or "").strip(), self.link or "") if b]
        if self.hashtags:
            blocks.append(" ".join(f"#{tag.lstrip('#')}" for tag in self.hashtags))
        main = Part("\n\n".join(blocks), self.media or (), self.text_pos or self.pos or fallback)
        return (main, *(self.thread or ()))

    @property
    def tags(self) -> tuple[str, ...]:
        """The hashtags without their '#': an article's tags."""
        return tuple(tag.lstrip("#") for tag in self.hashtags or ())

    def article(self, fallback: Pos) -> Part:
        """The post as one article (blog networks): its text, then each thread part as
        the following paragraphs, in order; every part's media, in order. The title,
        link and hashtags stay apart (the network has fields for them)."""
        thread = self.thread or ()
        blocks = [b for b in ((self.text or "").strip(), *(p.text.strip() for p in thread)) if b]
        media = (*(self.media or ()), *(m for p in thread for m in p.media))
        return Part("\n\n".join(blocks), media, self.text_pos or self.pos or fallback)


@dataclass(slots=True, eq=False)
class Post:
    calendar: str
    id: str
    at: datetime  # aware, UTC
    local: datetime  # aware, in the calendar's zone
    accounts: tuple[str, ...]
    content: Content
    variants: dict[str, Content]
    status: str  # "approved" | "draft"
    catch_up: timedelta
    lang: tuple[str, ...]
    pos: Pos  # the post's `id`
    accounts_pos: Pos
    at_pos: Pos  # its `at` (or `queue`)
    # A queued post (``queue:``): its queue, and its time is its slot (cmctl.queues).
    queue: str | None = None
    after: date | None = None  # not before this local day
    moved_from: datetime | None = None  # the slot it had, when placement moved it

    def content_for(self, account: str, network: str) -> Content:
        """Content for one account: account variant, then network variant, then the post."""
        content = self.content
        for key in (network, account):
            variant = self.variants.get(key)
            if variant is not None:
                content = variant.over(content)
        return content


@dataclass(slots=True)
class Calendar:
    name: str
    path: Path
    display: str
    timezone: str
    posts: list[Post] = field(default_factory=list)
