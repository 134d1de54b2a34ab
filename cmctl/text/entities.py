"""Find URLs, mentions and hashtags in post text.

Offsets are Python ``str`` indices (code points), end exclusive; :func:`byte_span`
turns them into the UTF-8 byte offsets Bluesky facets use.

- URLs follow twitter-text's extractor (see :mod:`cmctl.text._patterns`): a host
  must end in a known TLD or a punycode label, every host label must fit 63
  characters once punycode-encoded, trailing punctuation is left out, and a URL
  without ``http(s)://`` is only taken for its ASCII host (and the path after it).
- Mentions follow Mastodon's ``Account::MENTION_RE``, which covers X's ``@user``,
  the fediverse's ``@user@domain.tld`` and Bluesky handles such as
  ``@alice.bsky.social``.
- Hashtags follow twitter-text: ``#`` then letters, marks, digits and ``_`` with at
  least one letter; a ``#`` inside a URL (``…/#anchor``) is not a hashtag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cmctl.text import _patterns
from cmctl.text.units import utf8_length, utf16_length

__all__ = [
    "Entity",
    "byte_span",
    "extract_hashtags",
    "extract_mentions",
    "extract_urls",
]

_MAX_URL_LENGTH = 4096
_MAX_LABEL_LENGTH = 63
_MAX_TCO_SLUG_LENGTH = 40
_DEFAULT_PROTOCOL_LENGTH = len("https://")
_INVALID_BEFORE_SCHEMELESS = frozenset("-_./")

# No URL holds ASCII whitespace (or NEL), and every URL host has a "." followed by
# a character that is neither punctuation nor space (its TLD). So URLs are found
# only in the runs of non-space text that have one; the URL pattern (slow: it holds
# every TLD) then runs over each such run and the space before it.
_CANDIDATE_RUN = re.compile(
    r"(?<![^\t\n\x0b\x0c\r \x85])"  # starts a run
    r"[^\t\n\x0b\x0c\r \x85]*\.[^\t\n\x0b\x0c\r \x85!-/:-@\[-`{-~]"
    r"[^\t\n\x0b\x0c\r \x85]*"
)


@dataclass(frozen=True, slots=True)
class Entity:
    """A run of text a network treats specially."""

    kind: str  # "url" | "mention" | "hashtag"
    start: int  # str index of the first character
    end: int  # str index just past the last character
    value: str  # url: the URL text; mention: without "@"; hashtag: without "#"


def byte_span(text: str, entity: Entity) -> tuple[int, int]:
    """UTF-8 byte offsets (start inclusive, end exclusive) of ``entity`` in ``text``."""
    start = utf8_length(text[: entity.start])
    return start, start + utf8_length(text[entity.start : entity.end])


def extract_urls(text: str, *, require_protocol: bool = False) -> list[Entity]:
    """URLs in ``text`` as twitter-text extracts them.

    With ``require_protocol`` only ``http://``/``https://`` URLs count (what
    Mastodon links); otherwise a bare ``example.com/path`` is a URL too (what X links).
    """
    return _extract_urls(text, flavor="twitter", require_protocol=require_protocol)


def extract_mentions(text: str) -> list[Entity]:
    """``@user``, ``@user@domain.tld`` and ``@handle.domain`` mentions in ``text``.

    ``value`` is the mention without its leading ``@`` (``alice@example.social``).
    A mention inside a URL is not returned.
    """
    mentions = _mentions(text)
    if mentions:
        mentions = _drop_overlapping(mentions, extract_urls(text))
    return mentions


def extract_hashtags(text: str) -> list[Entity]:
    """Hashtags in ``text``; ``value`` is the tag without ``#``."""
    if "#" not in text and "＃" not in text:
        return []
    end_match = _patterns.end_hashtag_regex().match
    tags = [
        Entity("hashtag", m.start(), m.end(), m["tag"])
        for m in _patterns.hashtag_regex().finditer(text)
        if not end_match(text, m.end())
    ]
    if tags:
        tags = _drop_overlapping(tags, extract_urls(text))
    return tags


# --- internals shared with cmctl.text.twitter and cmctl.text.mastodon -----------------


def _extract_urls(
    text: str, *, flavor: _patterns.UrlFlavor, require_protocol: bool
) -> list[Entity]:
    # Every URL has a "." in its host, and a protocol has a ":".
    if ("." not in text) if not require_protocol else (":" not in text):
        return []
    urls: list[Entity] = []
    for m in _url_matches(text, flavor, require_protocol):
        url, protocol, domain = m["url"], m["protocol"], m["domain"]
        start, end = m.span("url")
        if not _is_valid_host_and_length(url, protocol, domain):
            continue
        if protocol is None:
            if require_protocol or m["before"][-1:] in _INVALID_BEFORE_SCHEMELESS:
                continue
            urls.extend(_schemeless(text, start, end, domain, has_path=m["path"] is not None))
            continue
        tco = _patterns.tco_regex(flavor).match(url)
        if tco is not None:
            if len(tco[1]) > _MAX_TCO_SLUG_LENGTH:
                continue
            end = start + tco.end()
            url = tco[0]
        urls.append(Entity("url", start, end, url))
    return urls


def _url_matches(
    text: str, flavor: _patterns.UrlFlavor, require_protocol: bool
) -> Iterable[re.Match[str]]:
    """What the URL pattern finds scanning ``text``, without scanning plain prose."""
    pattern = _patterns.url_regex(flavor)
    for run in _CANDIDATE_RUN.finditer(text):
        start, end = run.span()
        if require_protocol and "://" not in text[start:end]:
            continue
        # From the space before the run: the pattern needs the preceding character.
        yield from pattern.finditer(text, max(start - 1, 0), end)


def _schemeless(text: str, start: int, end: int, domain: str, *, has_path: bool) -> list[Entity]:
    """A scheme-less match is kept only for its ASCII domains (twitter-text)."""
    if domain.isascii():  # the usual case: the whole domain is its one ASCII domain
        end = end if has_path else start + len(domain)
        return [Entity("url", start, end, text[start:end])]
    found = [
        Entity("url", start + m.start(), start + m.end(), m[0])
        for m in _patterns.ascii_domain_regex().finditer(domain)
    ]
    if found and has_path:  # the path belongs to the last ASCII domain
        last = found[-1]
        found[-1] = Entity("url", last.start, end, text[last.start : end])
    return found


def _is_valid_host_and_length(url: str, protocol: str | None, domain: str) -> bool:
    """Every host label fits DNS's 63 once punycode-encoded; the URL fits 4096.

    The length is counted with the host punycode-encoded and, for a URL without a
    scheme, with the ``https://`` X would add (as twitter-text's Java and Ruby do).
    """
    protocol_length = 0 if protocol else _DEFAULT_PROTOCOL_LENGTH
    if domain.isascii():
        if len(domain) > _MAX_LABEL_LENGTH and any(
            len(label) > _MAX_LABEL_LENGTH for label in domain.split(".")
        ):
            return False
        return protocol_length + utf16_length(url) <= _MAX_URL_LENGTH
    if domain[:4].lower() == "xn--":
        return False  # a punycode host cannot also hold raw Unicode
    encoded_length = -1
    for label in domain.split("."):
        if not label.isascii():
            try:
                label = "xn--" + label.encode("punycode").decode("ascii")
            except UnicodeError:
                return False
        if not 0 < len(label) <= _MAX_LABEL_LENGTH:
            return False
        encoded_length += len(label) + 1
    # twitter-text measures in UTF-16 units (JavaScript string length).
    url_length = utf16_length(url) + encoded_length - utf16_length(domain)
    return protocol_length + url_length <= _MAX_URL_LENGTH


def _mentions(text: str) -> list[Entity]:
    if "@" not in text:
        return []
    end_match = _patterns.end_mention_regex().match
    return [
        Entity("mention", m.start(), m.end(), m["name"])
        for m in _patterns.mention_regex().finditer(text)
        if not end_match(text, m.end())
    ]


def _remove_overlapping(entities: Iterable[Entity]) -> list[Entity]:
    """twitter-text's ``remove_overlapping_entities``: earliest start wins."""
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: e.start):
        if kept and kept[-1].end > entity.start:
            continue
        kept.append(entity)
    return kept


def _drop_overlapping(entities: list[Entity], others: list[Entity]) -> list[Entity]:
    """``entities`` less those that lose to one of ``others`` in an overlap."""
    if not others:
        return entities
    return [e for e in _remove_overlapping([*others, *entities]) if e.kind == entities[0].kind]
