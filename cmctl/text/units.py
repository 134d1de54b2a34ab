"""Length of a text in the units networks count in.

- UTF-8 bytes: what Bluesky's facets index into and what byte-capped APIs limit.
- UTF-16 code units: what JavaScript's ``String.length`` gives, and so what
  Telegram and Discord count.
- Extended grapheme clusters (Unicode UAX #29, via ``regex``'s ``\\X``): what a
  reader sees as one character; Bluesky and Mastodon count these.

Every function accepts any ``str``, lone surrogates included, and never raises.
"""

from __future__ import annotations

import re

import regex

__all__ = ["count_graphemes", "utf8_length", "utf16_length"]

_GRAPHEME = regex.compile(r"\X")
# Every grapheme cluster of more than one code point holds one of these (UAX #29
# rules GB3-GB13: CR LF, Hangul jamo, Extend/ZWJ/SpacingMark, Prepend, regional
# indicators); a text without any is one cluster per code point.
_JOINERS = regex.compile(
    r"[\r\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}]"
)


def utf8_length(text: str) -> int:
    """Number of bytes of ``text`` encoded as UTF-8."""
    if text.isascii():
        return len(text)
    # A lone surrogate cannot be valid UTF-8; count it as the 3 bytes it would take
    # (what most lenient encoders emit) rather than raising.
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """Number of UTF-16 code units of ``text`` (a code point above U+FFFF counts 2)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# Code points below U+0300 never join a neighbour into a cluster (UAX #29 gives them
# no Extend/ZWJ/SpacingMark/Prepend/RI/Hangul property), except CR in CR LF and
# (c) (r) after an emoji ZWJ: between two of them there is always a boundary. So
# only the runs of other code points, with one neighbour each side, need \X.
_COMPLEX_RUN = re.compile("[^\x00-\x0c\x0e-\u02ff]+")


def count_graphemes(text: str) -> int:
    """Number of extended grapheme clusters of ``text``."""
    if text.isascii():
        # In ASCII the only cluster longer than one character is CR LF.
        return len(text) - text.count("\r\n")
    if _JOINERS.search(text) is None:
        return len(text)
    # Count \X only in windows around the complex runs; every other code point is
    # its own cluster. Windows that touch are merged so no boundary is judged twice.
    total = len(text)
    start = end = -1
    findall = _GRAPHEME.findall
    for m in _COMPLEX_RUN.finditer(text):
        lo, hi = max(m.start() - 1, 0), min(m.end() + 1, len(text))
        if lo <= end:  # overlaps or touches the current window: extend it
            end = hi
            continue
        if end > start:
            total += len(findall(text, start, end)) - (end - start)
        start, end = lo, hi
    if end > start:
        total += len(findall(text, start, end)) - (end - start)
    return total
