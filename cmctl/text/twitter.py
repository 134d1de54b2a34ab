"""X's weighted post length (twitter-text configuration v3).

The weights are read from ``twitter_config_v3.json`` beside this module, a copy of
twitter-text's ``config/v3.json`` (twitter/twitter-text, Apache-2.0, Copyright 2018
Twitter, Inc.). The rule, as twitter-text's ``parseTweet``:

1. the text is NFC-normalised;
2. each URL (scheme or not, see :func:`cmctl.text.entities.extract_urls`) weighs
   ``transformedURLLength`` (23) — X shortens it to a t.co link;
3. with ``emojiParsingEnabled``, each emoji sequence (ZWJ families, skin tones,
   flags, keycaps…) weighs ``defaultWeight`` (2 once scaled);
4. any other code point weighs the ``weight`` of the first range holding it (100,
   i.e. 1, for Latin, most punctuation and the like), else ``defaultWeight`` (2, e.g.
   CJK); an astral character is looked up by its high surrogate, as JavaScript does;
5. the length is the sum divided by ``scale``.

A post is valid when 0 < length <= ``maxWeightedTweetLength`` (280) and it holds
none of U+FFFE, U+FEFF, U+FFFF. Directional formatting (U+202A-U+202E, U+2066-U+2069)
counts but no longer makes a post invalid: twitter-text 3 dropped it from its invalid
characters, and its conformance suite (``UnicodeDirectionalMarkerCounterTest``)
expects such a post to be valid.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from cmctl.text._emoji import MAY_HOLD_EMOJI, emoji_regex
from cmctl.text.entities import _extract_urls

__all__ = [
    "TwitterTextConfig",
    "WeightRange",
    "is_valid",
    "load_config",
    "weighted_length",
    "weighted_length_with",
]

_CONFIG_FILE = "twitter_config_v3.json"
_INVALID = re.compile(r"[\uFFFE\uFEFF\uFFFF]")


@dataclass(frozen=True, slots=True)
class WeightRange:
    """Code points ``start..end`` (inclusive) weigh ``weight``."""

    start: int  # first code point (UTF-16 code unit, as twitter-text reads it)
    end: int  # last code point, inclusive
    weight: int


@dataclass(frozen=True, slots=True)
class TwitterTextConfig:
    """The fields of a twitter-text configuration file that weigh a text."""

    max_weighted_length: int
    scale: int
    default_weight: int
    transformed_url_length: int
    emoji_parsing_enabled: bool
    ranges: tuple[WeightRange, ...]

    @classmethod
    def from_json(cls, data: dict[str, object]) -> TwitterTextConfig:
        raw_ranges = data.get("ranges", [])
        if not isinstance(raw_ranges, list):
            raise ValueError("twitter-text config: 'ranges' must be a list")
        return cls(
            max_weighted_length=_int(data, "maxWeightedTweetLength"),
            scale=_int(data, "scale"),
            default_weight=_int(data, "defaultWeight"),
            transformed_url_length=_int(data, "transformedURLLength"),
            emoji_parsing_enabled=bool(data.get("emojiParsingEnabled", False)),
            ranges=tuple(
                WeightRange(_int(r, "start"), _int(r, "end"), _int(r, "weight")) for r in raw_ranges
            ),
        )


def _int(data: object, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"twitter-text config: {key!r} must be an integer")
    return value


@cache
def load_config() -> TwitterTextConfig:
    """The packaged v3 configuration (read once)."""
    # Imported here: together they cost ~10 ms at import and are needed once.
    import json
    from importlib import resources

    source = resources.files("cmctl.text").joinpath(_CONFIG_FILE).read_text(encoding="utf-8")
    return TwitterTextConfig.from_json(json.loads(source))


def weighted_length(text: str) -> int:
    """X's weighted length of ``text`` under the packaged v3 configuration."""
    return _measure(text)[0]


def is_valid(text: str) -> bool:
    """Whether X accepts ``text`` as a post body: 0 < length <= 280, no invalid chars."""
    return _measure(text)[1]


@lru_cache(maxsize=256)  # validation asks for the length, then for validity
def _measure(text: str) -> tuple[int, bool]:
    config = load_config()
    length = _weighted_length(text, config, _weigher(config))
    valid = 0 < length <= config.max_weighted_length and _INVALID.search(text) is None
    return length, valid


def weighted_length_with(text: str, config: TwitterTextConfig) -> int:
    """Weighted length of ``text`` under ``config`` (rounded up to a whole unit)."""
    return _weighted_length(text, config, _weigher(config))


def _weighted_length(text: str, config: TwitterTextConfig, weigher: _Weigher) -> int:
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for url in _extract_urls(text, flavor="twitter", require_protocol=False):
        total += weigher.weigh(text[position : url.start])
        total += config.transformed_url_length * config.scale
        position = url.end
    total += weigher.weigh(text[position:])
    return -(-total // config.scale)


@lru_cache(maxsize=8)
def _weigher(config: TwitterTextConfig) -> _Weigher:
    return _Weigher(config)


class _Weigher:
    """Weighs text between URLs: emoji, then characters by range."""

    __slots__ = ("_ascii_weight", "_default", "_emoji", "_runs")

    def __init__(self, config: TwitterTextConfig) -> None:
        self._default = config.default_weight
        self._emoji = config.emoji_parsing_enabled
        # Per weight, the code points that carry it (the first range holding one wins).
        by_weight: dict[int, list[tuple[int, int]]] = {}
        claimed: list[tuple[int, int]] = []
        for r in config.ranges:
            for start, end in _subtract((r.start, r.end), claimed):
                claimed.append((start, end))
                if r.weight != self._default:
                    by_weight.setdefault(r.weight, []).extend(_as_code_points(start, end))
        # Runs rather than single characters: far fewer matches to count.
        self._runs = tuple(
            (weight - self._default, re.compile(_char_class(spans) + "+"))
            for weight, spans in by_weight.items()
        )
        ascii_weights = {self._weigh_chars(chr(c)) for c in range(128)}
        self._ascii_weight = ascii_weights.pop() if len(ascii_weights) == 1 else None

    def weigh(self, chunk: str) -> int:
        if not chunk:
            return 0
        if chunk.isascii():  # no emoji can be all-ASCII
            if self._ascii_weight is not None:
                return self._ascii_weight * len(chunk)
            return self._weigh_chars(chunk)
        if not self._emoji or MAY_HOLD_EMOJI.search(chunk) is None:
            return self._weigh_chars(chunk)
        total = 0
        position = 0
        for m in emoji_regex().finditer(chunk):
            total += self._weigh_chars(chunk[position : m.start()]) + self._default
            position = m.end()
        return total + self._weigh_chars(chunk[position:])

    def _weigh_chars(self, chunk: str) -> int:
        total = self._default * len(chunk)
        for extra, runs in self._runs:
            total += extra * sum(map(len, runs.findall(chunk)))
        return total


def _subtract(span: tuple[int, int], taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of the inclusive ``span`` not inside any of ``taken``."""
    parts = [span]
    for t_start, t_end in taken:
        parts = [
            piece
            for start, end in parts
            for piece in ((start, min(end, t_start - 1)), (max(start, t_end + 1), end))
            if piece[0] <= piece[1]
        ]
    return parts


def _as_code_points(start: int, end: int) -> list[tuple[int, int]]:
    """Code points twitter-text weighs by the UTF-16 units ``start..end``.

    JavaScript reads a character's first code unit, so an astral character is
    weighed by its high surrogate: a range over D800-DBFF covers astral planes.
    """
    spans = [(start, end)]
    low, high = max(start, 0xD800), min(end, 0xDBFF)
    if low <= high:
        spans.append((0x10000 + (low - 0xD800) * 0x400, 0x10000 + (high - 0xD800) * 0x400 + 0x3FF))
    return spans


def _char_class(spans: list[tuple[int, int]]) -> str:
    return "[" + "".join(f"\\U{s:08X}-\\U{e:08X}" for s, e in spans) + "]"
