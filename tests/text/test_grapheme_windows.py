"""count_graphemes only runs \\X around complex runs: it must agree with \\X everywhere."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from cmctl.text.units import count_graphemes

_X = regex.compile(r"\X")

# Characters that join clusters (or sit next to ones that do) mixed with plain ones.
TRICKY = [
    "a",
    " ",
    ".",
    "é",
    "\r",
    "\n",
    "©",
    "®",
    "#",
    "1",
    "\u0301",
    "\u200d",
    "\u200c",
    "\ufe0f",
    "\u20e3",
    "👨",
    "👩",
    "👧",
    "🏽",
    "🇫",
    "🇷",
    "\u0915",
    "\u094d",
    "\u0937",
    "\u1100",
    "\u1161",
    "\u11a8",
    "\u0600",
    "\u0e33",
    "\U000e0067",
    "\U000e007f",
    "\U0001f3f4",
    "☝",
    "\u0903",
    "ḁ",
    "\u02ff",
    "\u0300",
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=16).map("".join))
def test_windowed_count_equals_full_segmentation(text: str) -> None:
    assert count_graphemes(text) == len(_X.findall(text))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_any_text(text: str) -> None:
    assert count_graphemes(text) == len(_X.findall(text))
