"""Regular expressions for URLs, mentions and hashtags, built once on first use.

The URL grammar is twitter-text's (twitter/twitter-text 3.1, Apache-2.0,
Copyright 2018 Twitter, Inc.), rewritten for Python:

    preceding char · protocol? · domain · (":" port)? · ("/" path)? · ("?" query)?

where a domain is ``subdomain* domain-name TLD`` and the TLD must be a known one
(:mod:`cmctl.text._tld_data`) or a punycode label. Two flavours differ only in
protocols, path and query characters:

- ``"twitter"``: twitter-text's own sets (what X counts);
- ``"mastodon"``: the sets Mastodon patches into twitter-text in
  ``config/initializers/twitter_regex.rb`` (more protocols, any non-space path
  character, punctuation trimmed from the end).

URL patterns use the standard ``re`` module, which runs them about three times
faster than ``regex``; mentions and hashtags need ``regex``'s Unicode properties.
Compiling a URL pattern (it holds every TLD) takes some 20 ms, so nothing here is
built at import time: every accessor is cached.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

import regex

from cmctl.text._tld_data import COUNTRY_TLDS, GENERIC_TLDS

__all__ = [
    "DIRECTIONAL_CHARS",
    "INVALID_CHARS",
    "LATIN_ACCENTS",
    "UrlFlavor",
    "ascii_domain_regex",
    "end_hashtag_regex",
    "end_mention_regex",
    "hashtag_regex",
    "mention_regex",
    "tco_regex",
    "url_regex",
]

UrlFlavor = Literal["twitter", "mastodon"]
_Trie = dict[str, "_Trie"]

# Character-class bodies (no brackets), written as regex escapes, as twitter-text has them.
INVALID_CHARS = r"\uFFFE\uFEFF\uFFFF"
DIRECTIONAL_CHARS = r"\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_CTRL = r"\x00-\x1F\x7F"
_PUNCT_CHARS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
LATIN_ACCENTS = (
    r"\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u00FF\u0100-\u024F\u0253\u0254\u0256\u0257"
    r"\u0259\u025B\u0263\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
_CYRILLIC = r"\u0400-\u04FF"
# Ruby's \p{White_Space}, \p{Cyrillic} and \p{Pd} (as of Unicode 16), which ``re`` lacks.
_WHITE_SPACE = r"\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_CYRILLIC_SCRIPT = (
    r"\u0400-\u0484\u0487-\u052F\u1C80-\u1C8A\u1D2B\u1D78\u2DE0-\u2DFF\uA640-\uA69F"
    r"\uFE2E\uFE2F\U0001E030-\U0001E06D\U0001E08F"
)
_DASH_PUNCTUATION = (
    r"\u002D\u058A\u05BE\u1400\u1806\u2010-\u2015\u2E17\u2E1A\u2E3A\u2E3B\u2E40\u2E5D"
    r"\u301C\u3030\u30A0\uFE31\uFE32\uFE58\uFE63\uFF0D\U00010D6E\U00010EAD"
)

_FLAGS = regex.IGNORECASE


def _trie_alternation(words: list[str]) -> str:
    """A regex matching any of ``words``, longest first, as a prefix trie.

    twitter-text lists the TLDs in descending order so that a longer TLD is tried
    before its own prefix; a trie that tries continuations before stopping gives
    the same match while costing one step per character instead of one per word.
    """
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word.lower():
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [
            re.escape(char) + emit(child)
            for char, child in sorted(node.items(), reverse=True)
            if char
        ]
        if "" in node:  # a word may end here: try longer words first, then stop
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(trie)


def _class_body(chars: str) -> str:
    """``chars`` escaped for use inside ``[...]``."""
    return "".join("\\" + c if c in "\\[]^-" else c for c in chars)


_NOT_IN_DOMAINS = f"{_SPACES}{_CTRL}{INVALID_CHARS}{DIRECTIONAL_CHARS}"


@cache
def _domain_source() -> str:
    # twitter-text: a label is ``char ((_|-) | char)* char`` for subdomains and
    # ``char (- | char)* char`` for the registered name, where ``char`` is anything
    # but punctuation, spaces, control, invalid and directional characters.
    char = f"[^{_class_body(_PUNCT_CHARS)}{_NOT_IN_DOMAINS}]"
    sub_inner = f"[^{_class_body(_PUNCT_CHARS.replace('_', '').replace('-', ''))}{_NOT_IN_DOMAINS}]"
    name_inner = f"[^{_class_body(_PUNCT_CHARS.replace('-', ''))}{_NOT_IN_DOMAINS}]"
    subdomain = f"(?:(?:{char}{sub_inner}*)?{char}\\.)"
    domain_name = f"(?:(?:{char}{name_inner}*)?{char}\\.)"
    return f"(?:{subdomain}*{domain_name}{_tld_source()})"


@cache
def _tld_source() -> str:
    tlds = _trie_alternation(GENERIC_TLDS.split() + COUNTRY_TLDS.split())
    # A TLD must not run on into more host-like characters; punycode needs no list.
    return f"(?:{tlds}(?=[^0-9a-z@+-]|$)|xn--[0-9a-z-]+)"


def _balanced_parens(gen: str) -> str:
    return f"\\((?:{gen}+|(?:{gen}*\\({gen}+\\){gen}*))\\)"


def _path_and_query(flavor: UrlFlavor) -> tuple[str, str, str]:
    """(path, query chars, query ending chars) of ``flavor``."""
    if flavor == "twitter":
        gen = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{LATIN_ACCENTS}]"
        bal = _balanced_parens(gen)
        end = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{LATIN_ACCENTS}]|{bal})"
        path = f"(?:{gen}*(?:{bal}{gen}*)*{end}|@{gen}+/)"
        return path, r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]", r"[a-z0-9\-_&=#/]"
    # Mastodon's initializer redefines the ending chars while the balanced-parens
    # rule is still twitter-text's (Ruby) one, then redefines balanced parens.
    ruby_gen = (
        f"[a-z{_CYRILLIC_SCRIPT}0-9!*';:=+,.$/%#\\[\\]{_DASH_PUNCTUATION}_~&|@{LATIN_ACCENTS}]"
    )
    gen = f"[^{_WHITE_SPACE}<>()?]"
    end = f"(?:[^{_WHITE_SPACE}()?!*\"'「」<>;:=,.$%\\[\\]~&|@]|{_balanced_parens(ruby_gen)})"
    bal = _balanced_parens(gen)
    path = f"(?:{gen}*(?:{bal}{gen}*)*{end}|{gen}+/)"
    uchars = (
        "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
        "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
        "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
        "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
        "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
    )
    return path, f"[a-z0-9!?*'();:&=+$/%#\\[\\]\\-_.,~|@^{uchars}]", f"[a-z0-9_&=#/\\-{uchars}]"


_PROTOCOLS: dict[str, str] = {
    "twitter": "https?://",
    "mastodon": "(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://",
}


@cache
def url_regex(flavor: UrlFlavor = "twitter") -> re.Pattern[str]:
    """Groups: ``before`` (preceding char), ``url``, ``protocol``, ``domain``, ``path``."""
    path, query, query_end = _path_and_query(flavor)
    preceding = f"(?:[^a-z0-9@＠$#＃{INVALID_CHARS}]|[{DIRECTIONAL_CHARS}]|^)"
    source = (
        f"(?P<before>{preceding})"
        "(?P<url>"
        f"(?P<protocol>{_PROTOCOLS[flavor]})?"
        f"(?P<domain>{_domain_source()})"
        "(?::[0-9]+)?"
        # Possessive: everything after the path is optional, so giving path
        # characters back could never turn a failure into a match.
        f"(?P<path>/{path}*+)?"
        f"(?:\\?{query}*{query_end})?"
        ")"
    )
    return re.compile(source, re.IGNORECASE)


@cache
def ascii_domain_regex() -> re.Pattern[str]:
    """The ASCII-only domains a scheme-less URL may be cut down to."""
    return re.compile(f"(?:[a-z0-9_{LATIN_ACCENTS}-]+\\.)+{_tld_source()}", re.IGNORECASE)


@cache
def tco_regex(flavor: UrlFlavor = "twitter") -> re.Pattern[str]:
    """A t.co link, whose slug is all a URL may hold after the host (group 1: slug).

    twitter-text's JavaScript and Java allow a query after the slug; its Ruby (which
    Mastodon runs) does not.
    """
    if flavor == "mastodon":
        return re.compile(r"https?://t\.co/([a-z0-9]+)", re.IGNORECASE)
    _, query, query_end = _path_and_query("twitter")
    return re.compile(f"https?://t\\.co/([a-z0-9]+)(?:\\?{query}*{query_end})?", re.IGNORECASE)


@cache
def mention_regex() -> regex.Pattern[str]:
    """Mastodon's ``Account::MENTION_RE``: ``@user``, ``@user@domain``, ``@handle.tld``.

    Group ``name`` is everything after the first ``@``; group ``user`` the local part.
    """
    username = r"[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*"
    return regex.compile(
        rf"(?<![=/\w])@(?P<name>(?P<user>{username})(?:@\w+(?:[.-]+\w+)*)?)", _FLAGS
    )


@cache
def end_mention_regex() -> regex.Pattern[str]:
    """What may not follow a mention (twitter-text's ``end_mention_match``)."""
    return regex.compile(f"[@＠{LATIN_ACCENTS}]|://")


_HASHTAG_LETTERS = r"\p{L}\p{M}"
_HASHTAG_ALNUM = (
    r"\p{L}\p{M}\p{Nd}"
    "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003"
    "\u0f0b\u0f0c\u00b7"
)


@cache
def hashtag_regex() -> regex.Pattern[str]:
    """twitter-text's hashtag: ``#`` then letters/digits/marks with at least one letter."""
    return regex.compile(
        f"(?:^|(?<=[\ufe0e\ufe0f])|(?<![&{_HASHTAG_ALNUM}]))"
        "[#＃](?![\ufe0f\u20e3])"
        f"(?P<tag>[{_HASHTAG_ALNUM}]*[{_HASHTAG_LETTERS}][{_HASHTAG_ALNUM}]*)",
        _FLAGS,
    )


@cache
def end_hashtag_regex() -> regex.Pattern[str]:
    """What may not follow a hashtag (twitter-text's ``end_hashtag_match``)."""
    return regex.compile("[#＃]|://")
