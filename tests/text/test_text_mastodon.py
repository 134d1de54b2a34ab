"""Mastodon's StatusLengthValidator counting."""

from __future__ import annotations

import pytest

from cmctl.text.mastodon import countable_text, mastodon_length

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
LONG_URL = "https://example.com/" + "a-very-long-path/" * 10 + "?with=query&and=more"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        (LONG_URL, 23),
        (f"see {LONG_URL} now", 4 + 23 + 4),
        ("http://a.co", 23),  # a short URL counts 23 too
        ("@alice@example.social", len("@alice")),
        ("hi @alice@example.social!", len("hi @alice!")),
        ("@alice", 6),
        (FAMILY, 1),
        (f"{FAMILY} e\u0301", 3),  # graphemes: family, space, e + accent
        ("read https://en.wikipedia.org/wiki/CBOR.", 5 + 23 + 1),  # final "." stays text
        ("example.com", 11),  # no protocol: Mastodon counts it in full
        ("gemini://example.com/page", 23),  # Mastodon's extra protocols
        ("https://example.notatld/x", 25),  # no known TLD: no URL
        ("   \n ", 0),  # blank text counts nothing
        ("@bob@mastodon.social@ x", 23),  # "@" right after: not a mention
        ("https://mastodon.social/@Gargron", 23),  # the mention is inside the URL
    ],
)
def test_mastodon_length(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected


def test_countable_text_rewrites_entities() -> None:
    text = f"hi @alice@example.social see {LONG_URL}."
    assert countable_text(text) == "hi @alice see " + "x" * 23 + "."


def test_spoiler_text_counts_in_full() -> None:
    assert mastodon_length("body", spoiler_text="CW: food") == 12
    assert mastodon_length("  ", spoiler_text="CW") == 2


def test_mastodon_path_is_wider_than_x() -> None:
    # Mastodon's patched path accepts characters twitter-text stops at.
    text = "https://example.com/a^b"
    assert mastodon_length(text) == 23
    assert countable_text(text) == "x" * 23
