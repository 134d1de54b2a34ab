"""X's weighted length against twitter-text's own conformance suite."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import regex

from cmctl.text import twitter
from cmctl.text._emoji import MAY_HOLD_EMOJI
from cmctl.text.twitter import (
    TwitterTextConfig,
    is_valid,
    load_config,
    weighted_length,
    weighted_length_with,
)


def test_discounted_emoji_section_is_whole(validate_yml: dict[str, list[Any]]) -> None:
    # The suite this module is held to: every case, none dropped on the way.
    assert len(validate_yml["WeightedTweetsWithDiscountedEmojiCounterTest"]) == 22


def test_weighted_length_v3(weighted_case: dict[str, Any]) -> None:
    text = weighted_case["text"]
    assert weighted_length(text) == weighted_case["expected"]["weightedLength"]
    assert is_valid(text) is weighted_case["expected"]["valid"]


def test_directional_markers(directional_case: dict[str, Any]) -> None:
    # twitter-text 3 counts bidi controls like any character and no longer rejects
    # them: only U+FFFE, U+FEFF and U+FFFF make a post invalid.
    text = directional_case["text"]
    assert weighted_length(text) == directional_case["expected"]["weightedLength"]
    assert is_valid(text) is directional_case["expected"]["valid"]


def test_weighted_length_without_emoji_parsing(weighted_v2_case: dict[str, Any]) -> None:
    # Config v2 is v3 without emoji parsing: each emoji code point weighs 2 there.
    v2 = dataclasses.replace(load_config(), emoji_parsing_enabled=False)
    assert (
        weighted_length_with(weighted_v2_case["text"], v2)
        == (weighted_v2_case["expected"]["weightedLength"])
    )


def test_packaged_config_is_the_published_v3(conformance: Path) -> None:
    packaged = Path(twitter.__file__).with_name("twitter_config_v3.json")
    published = conformance / "twitter-text" / "config-v3.json"
    assert json.loads(packaged.read_text("utf-8")) == json.loads(published.read_text("utf-8"))


def test_weights_come_from_the_config() -> None:
    config = load_config()
    assert (config.scale, config.default_weight, config.transformed_url_length) == (100, 200, 23)
    doubled_url = dataclasses.replace(config, transformed_url_length=46)
    assert weighted_length_with("see https://example.com", doubled_url) == 4 + 46
    all_heavy = dataclasses.replace(config, ranges=())
    assert weighted_length_with("abc", all_heavy) == 6


def test_config_from_json_rejects_bad_fields() -> None:
    data = json.loads(json.dumps(dataclasses.asdict(load_config())))
    with pytest.raises(ValueError, match="maxWeightedTweetLength"):
        TwitterTextConfig.from_json(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 5),
        ("é", 1),  # U+00E9 is in the 0-4351 range
        ("e\u0301", 1),  # NFC turns e + combining acute into U+00E9
        ("日本語", 6),  # CJK weighs 2 each
        ("\u2014", 1),  # em dash: 8212 is in 8208-8223
        ("\u2026", 2),  # ellipsis: 8230 is in none of the ranges
        ("👍", 2),
        ("👍🏽", 2),  # skin tone
        ("❤️", 2),  # text-default heart with FE0F
        ("🇫🇷", 2),  # flag
        ("#️⃣", 2),  # keycap
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 2),  # Scotland: tag sequence
        ("👩🏽‍💻", 2),  # ZWJ with a skin tone
        ("🧑‍🧑‍🧒", 2),  # ZWJ family from Emoji 15.1, newer than twitter-text's list
        ("©", 1),  # alone © is text (Latin-1), as twemoji has it
        ("©️", 2),  # with FE0F it is an emoji
        ("☺︎", 4),  # FE0E asks for text: 2 + 2, no emoji
        ("example.com", 23),  # a URL without scheme still counts 23
        ("example.notatld", 15),  # not a known TLD: plain text
        ("see https://en.wikipedia.org/wiki/CBOR.", 4 + 23 + 1),  # final "." not in URL
    ],
)
def test_weighted_length_examples(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_validity_limits() -> None:
    assert is_valid("x" * 280)
    assert not is_valid("x" * 281)
    assert not is_valid("")
    assert is_valid("日" * 140)
    assert not is_valid("日" * 141)
    assert not is_valid("ok\ufeff")
    assert not is_valid("ok\uffff")
    assert is_valid("\u202aok\u202c")  # directional formatting is allowed (twitter-text 3)


def test_every_pictographic_character_passes_the_emoji_precheck() -> None:
    # weighted_length only runs the emoji pattern on text MAY_HOLD_EMOJI finds
    # something in; a pictographic character outside it would weigh as text.
    pictographic = regex.compile(
        r"[\p{Extended_Pictographic}\p{Regional_Indicator}"
        r"\p{Emoji_Modifier}\u20E3]"
    )
    missed = [
        hex(cp)
        for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF
        and pictographic.match(chr(cp))
        and not MAY_HOLD_EMOJI.match(chr(cp))
    ]
    assert missed == []
