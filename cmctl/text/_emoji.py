"""Emoji sequences, from Unicode's emoji properties (UTS #51), for X's emoji rule.

X counts each emoji as 2 whatever its length in code points (twitter-text
``emojiParsingEnabled``). twitter-text finds emoji with twemoji's list of known
sequences; this module recognises the same shapes from Unicode properties, so a
newer emoji needs a newer ``regex`` rather than a new list:

- a keycap: ``[0-9#*]`` FE0F? U+20E3;
- a flag: two regional indicators;
- a ZWJ sequence of elements, where an element is a modifier base with a skin
  tone, or an ``Extended_Pictographic`` character not asking for text
  presentation (FE0E), with an optional FE0F and an optional tag sequence
  (subdivision flags such as England's).

Like twemoji, ``©`` and ``®`` are emoji only with FE0F: alone they are text.
Known differences from twemoji's list: a ZWJ sequence or flag pair that Unicode
does not list (say 🇦🇦) counts 2 here and twice or more there.
"""

from __future__ import annotations

import re
from functools import cache

import regex

__all__ = ["MAY_HOLD_EMOJI", "emoji_regex"]

_TAGS = r"(?:[\U000E0020-\U000E007E]+\U000E007F)"
_ELEMENT = (
    r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    r"|(?![\xA9\xAE])\p{Extended_Pictographic}(?:\uFE0F|(?!\uFE0E))"
    r"|[\xA9\xAE]\uFE0F)"
    f"{_TAGS}?"
)


@cache
def emoji_regex() -> regex.Pattern[str]:
    """One emoji (sequence) of the shapes above."""
    return regex.compile(
        r"[0-9#*]\uFE0F?\u20E3"
        r"|\p{Regional_Indicator}{2}"
        f"|{_ELEMENT}(?:\\u200D{_ELEMENT})*"
    )


#: Every emoji match holds one of these (all of ``Extended_Pictographic``, regional
#: indicators, skin tones and U+20E3 lie in them): a text without any has no emoji,
#: which this ``re`` class tells faster than :func:`emoji_regex` can.
MAY_HOLD_EMOJI: re.Pattern[str] = re.compile(r"[\u00A9\u00AE\u203C-\u3299\U0001F000-\U0001FFFF]")
