"""UTF-8, UTF-16 and grapheme lengths."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from cmctl.text.units import count_graphemes, utf8_length, utf16_length

FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # 4 people joined by 3 ZWJ
COUPLE = "👨\u200d❤\ufe0f\u200d👨"  # from Bluesky's facet example


@pytest.mark.parametrize(
    ("text", "utf8", "utf16", "graphemes"),
    [
        ("", 0, 0, 0),
        ("hello", 5, 5, 5),
        ("é", 2, 1, 1),  # precomposed
        ("e\u0301", 3, 2, 1),  # e + combining acute: one grapheme
        ("e\u0301\u0323", 5, 3, 1),  # two combining marks
        ("日本", 6, 2, 2),
        ("😀", 4, 2, 1),  # astral: a surrogate pair in UTF-16
        ("👍🏽", 8, 4, 1),  # skin tone modifier
        (FAMILY, 25, 11, 1),
        (COUPLE, 20, 8, 1),
        ("🇫🇷🇩🇪", 16, 8, 2),  # two flags
        ("1\ufe0f\u20e3", 7, 3, 1),  # keycap
        ("क्षि", 12, 4, 1),  # Devanagari conjunct
        ("한국", 6, 2, 2),  # precomposed Hangul syllables
        ("\u1100\u1161\u11a8", 9, 3, 1),  # conjoining jamo: one syllable
        ("a\r\nb", 4, 4, 3),  # CR LF is one grapheme
        ("a\n\rb", 4, 4, 4),
    ],
)
def test_lengths(text: str, utf8: int, utf16: int, graphemes: int) -> None:
    assert utf8_length(text) == utf8
    assert utf16_length(text) == utf16
    assert count_graphemes(text) == graphemes


def test_lone_surrogate_does_not_raise() -> None:
    assert utf8_length("a\ud83d") == 4
    assert utf16_length("a\ud83d") == 2


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_grapheme_shortcuts_agree_with_full_segmentation(text: str) -> None:
    # count_graphemes skips \X when no code point can join a cluster; it must
    # always agree with segmenting the text in full.
    assert count_graphemes(text) == len(regex.findall(r"\X", text))


@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                "é",
                "\u0301",
                "\u200d",
                "👨",
                "🏽",
                "🇫",
                "\ufe0f",
                "\r",
                "\n",
                "\u1100",
                "\u1161",
                "\u11a8",
                "가",
                "क",
                "\u094d",
                "ष",
                "\u0600",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_grapheme_shortcuts_on_joining_characters(text: str) -> None:
    assert count_graphemes(text) == len(regex.findall(r"\X", text))


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_encoded_lengths(text: str) -> None:
    assert utf8_length(text) == len(text.encode("utf-8"))
    assert utf16_length(text) == len(text.encode("utf-16-le")) // 2
