"""Mastodon's post length, as its ``StatusLengthValidator`` counts it.

Mastodon (``app/validators/status_length_validator.rb``) counts
``spoiler_text + countable_text(text)`` in grapheme clusters, where
``countable_text`` is the text with

- every URL *with* a protocol (twitter-text extraction with
  ``extract_url_without_protocol: false``, under the URL rules Mastodon patches
  into twitter-text) replaced by 23 ``x``;
- every mention ``@user@domain`` replaced by ``@user`` (the domain is free);

mentions and URLs that overlap keep the one that starts first, and a text that
is only whitespace counts nothing.
"""

from __future__ import annotations

import regex

from cmctl.text.entities import Entity, _extract_urls, _mentions, _remove_overlapping
from cmctl.text.units import count_graphemes

__all__ = ["URL_LENGTH", "countable_text", "mastodon_length"]

#: Characters a URL counts for, whatever its length (Mastodon's URL_PLACEHOLDER_CHARS).
URL_LENGTH = 23
_URL_PLACEHOLDER = "x" * URL_LENGTH
_BLANK = regex.compile(r"[\p{White_Space}]*")


def mastodon_length(text: str, *, spoiler_text: str = "") -> int:
    """Length Mastodon checks against its limit (500 by default).

    ``spoiler_text`` (the content warning) counts in full, as Mastodon adds it.
    """
    return count_graphemes(spoiler_text + countable_text(text))


def countable_text(text: str) -> str:
    """``text`` as Mastodon measures it: URLs as 23 ``x``, mentions without domain."""
    if _BLANK.fullmatch(text):
        return ""
    entities = _remove_overlapping(
        [
            *_extract_urls(text, flavor="mastodon", require_protocol=True),
            *_mentions(text),
        ]
    )
    if not entities:
        return text
    parts: list[str] = []
    position = 0
    for entity in entities:
        parts.append(text[position : entity.start])
        parts.append(_replacement(entity))
        position = entity.end
    parts.append(text[position:])
    return "".join(parts)


def _replacement(entity: Entity) -> str:
    if entity.kind == "url":
        return _URL_PLACEHOLDER
    return "@" + entity.value.split("@", 1)[0]
