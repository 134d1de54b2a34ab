"""Link tracking: the ``utm:`` key adds ``utm_*`` parameters to a post's links.

``utm:`` may be set in cmctl.yaml ``defaults``, in a calendar's ``defaults``, on a post
and in a variant; each level overrides the one before it key by key (an empty string
removes a key set earlier). Values may hold the placeholders ``{network}``,
``{account}``, ``{calendar}`` and ``{post}`` (``{post}`` is the post's id as written:
every occurrence of a recurring post shares it, so a campaign counts the series as one).

Tagging keeps the link as written and appends the parameters to its query string
(before any ``#fragment``), each value percent-encoded; a ``utm_x`` the link already
has is kept as written, never added twice. ``text_links: true`` tags the ``http(s)://``
URLs written in the text (and the thread parts) too; the ``link`` is always tagged.

A leaf: the calendar model imports it, so it knows Content only by its fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from cmctl.diagnostics import Sink
    from cmctl.yamlsrc import Map

KEYS = ("source", "medium", "campaign", "content", "term")
TEXT_LINKS = "text_links"
PLACEHOLDERS = ("network", "account", "calendar", "post")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
C = TypeVar("C")  # the calendar model's Content (not imported: the model imports this)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Tracking parameters added to the post's link (utm_source...): "
    "placeholders {network}, {account}, {calendar}, {post}; '' removes an inherited key.",
    "properties": {
        **{key: {"type": "string", "description": f"utm_{key}"} for key in KEYS},
        TEXT_LINKS: {
            "type": "boolean",
            "description": "Also tag the http(s) URLs written in the text (default false).",
        },
    },
}


@dataclass(frozen=True, slots=True)
class Utm:
    """One level's ``utm:``: the keys it sets (value as written) and its text_links."""

    values: tuple[tuple[str, str], ...] = ()
    text_links: bool | None = None

    def over(self, base: Utm | None) -> Utm:
        """This level's keys over ``base``'s, key by key."""
        if base is None:
            return self
        mine = dict(self.values)
        merged = {k: mine.get(k, v) for k, v in base.values}
        merged.update(mine)
        return Utm(
            tuple((k, merged[k]) for k in KEYS if k in merged),
            self.text_links if self.text_links is not None else base.text_links,
        )


class Tagging(NamedTuple):
    """The parameters one job's links get, placeholders filled (hashable: compile keys
    its cache with it)."""

    params: tuple[tuple[str, str], ...]  # ("utm_source", "<the network>"), in KEYS order
    text_links: bool


def read(node: Map, sink: Sink) -> Utm:
    """The ``utm:`` mapping (shape already checked by SCHEMA); an unknown placeholder is
    an error at its value."""
    values = []
    for key in KEYS:
        value = node.get(key)
        raw = getattr(value, "value", None)
        if value is None or not isinstance(raw, str):
            continue
        for name in _PLACEHOLDER.findall(raw):
            if name not in PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                sink.error(
                    value.line,
                    value.col,
                    f"utm.{key}: unknown placeholder '{{{name}}}'",
                    "utm-placeholder",
                    f"use one of {known}",
                )
        values.append((key, raw))
    flag = getattr(node.get(TEXT_LINKS), "value", None)
    return Utm(tuple(values), flag if isinstance(flag, bool) else None)


def tagging(
    utm: Utm | None,
    default: Utm | None,
    *,
    network: str,
    account: str,
    calendar: str,
    post: str,
) -> Tagging | None:
    """What one job's links get: ``utm`` (the post's, its variants' and its calendar's,
    merged) over ``default`` (cmctl.yaml's). None when nothing is to be added."""
    merged = utm.over(default) if utm is not None else default
    if merged is None:
        return None
    fill = {"network": network, "account": account, "calendar": calendar, "post": post}

    def filled(template: str) -> str:
        return _PLACEHOLDER.sub(lambda m: fill.get(m.group(1), m.group(0)), template)

    params = tuple((f"utm_{k}", filled(v)) for k, v in merged.values if v != "")
    if not params:
        return None
    return Tagging(params, bool(merged.text_links))


def tag_url(url: str, params: tuple[tuple[str, str], ...]) -> str:
    """``url`` with ``params`` appended to its query (before the fragment). The query as
    written is kept byte for byte; a parameter it already has is not added."""
    from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit  # not for cmctl.yaml alone

    schemeless = "://" not in url
    parts = urlsplit("//" + url if schemeless else url)
    present = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = "&".join(f"{k}={quote(v, safe='')}" for k, v in params if k not in present)
    if not added:
        return url
    joint = "" if not parts.query or parts.query.endswith("&") else "&"  # no "&&"
    query = f"{parts.query}{joint}{added}"
    tagged = urlunsplit(parts._replace(query=query))
    # urlunsplit drops an empty "?" or "#"; the rest is as written
    return tagged[2:] if schemeless else tagged


def tag_text(text: str, params: tuple[tuple[str, str], ...]) -> str:
    """``text`` with each ``http(s)://`` URL in it tagged."""
    from cmctl.text.entities import extract_urls

    urls = extract_urls(text, require_protocol=True)
    if not urls:
        return text
    out, last = [], 0
    for url in urls:
        out += [text[last : url.start], tag_url(text[url.start : url.end], params)]
        last = url.end
    out.append(text[last:])
    return "".join(out)


def apply(written: C, tags: Tagging | None) -> C:
    """A Content with its link (and, with text_links, the URLs of its texts) tagged."""
    if tags is None:
        return written
    content: Any = written
    params = tags.params
    link = tag_url(content.link, params) if content.link else content.link
    if not tags.text_links:
        linked: C = replace(content, link=link)
        return linked
    text: Callable[[str], str] = lambda value: tag_text(value, params)  # noqa: E731
    tagged: C = replace(
        content,
        link=link,
        text=text(content.text) if content.text else content.text,
        thread=tuple(replace(p, text=text(p.text)) for p in content.thread)
        if content.thread
        else content.thread,
    )
    return tagged
