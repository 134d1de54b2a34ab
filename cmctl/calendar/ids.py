"""Post ids made from text: `cmctl add` and `cmctl import` name the posts they write.

An id is a post's identity for life (cmctl/compile.py): a derived one is a slug of the
text's first words, ASCII and lowercase, cut at a word boundary, and made unique
among the ids already used with ``-2``, ``-3``…
"""

from __future__ import annotations

import re
import unicodedata

ID_WORDS = 6  # a derived id is a slug of the text's first words...
ID_CHARS = 40  # ...cut at a word boundary within this many characters

# Latin letters that Unicode does not decompose into ASCII ones.
_LETTERS = str.maketrans(
    {
        "œ": "oe",
        "Œ": "oe",
        "æ": "ae",
        "Æ": "ae",
        "ß": "ss",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "þ": "th",
        "Þ": "th",
        "ð": "d",
        "Ð": "d",
    }
)


def slug(text: str) -> str:
    """Lowercase ASCII words of ``text``, joined by '-': 'Été : 3 idées !' → 'ete-3-idees'."""
    folded = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)[:ID_WORDS]
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > ID_CHARS:
            break
        out = candidate
    return out or (words[0][:ID_CHARS] if words else "post")


def unique_id(base: str, used: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… : the first not in ``used``."""
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"
