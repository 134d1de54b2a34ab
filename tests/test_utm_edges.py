"""Adversarial edges of link tagging: queries, fragments, punctuation, non-ASCII."""

from __future__ import annotations

import pytest

from cmctl.utm import tag_text, tag_url

P = (("utm_source", "bluesky"), ("utm_campaign", "Été 2027 / soldes & co"))
CAMPAIGN = "utm_campaign=%C3%89t%C3%A9%202027%20%2F%20soldes%20%26%20co"


@pytest.mark.parametrize(
    ("url", "tagged"),
    [
        ("https://x.com/a?b=1#frag", f"https://x.com/a?b=1&utm_source=bluesky&{CAMPAIGN}#frag"),
        ("https://x.com/a#f?x=1", f"https://x.com/a?utm_source=bluesky&{CAMPAIGN}#f?x=1"),
        ("https://x.com/a?b=1&", f"https://x.com/a?b=1&utm_source=bluesky&{CAMPAIGN}"),
        ("https://x.com/a?", f"https://x.com/a?utm_source=bluesky&{CAMPAIGN}"),
        ("https://x.com/a?utm_source=keep", f"https://x.com/a?utm_source=keep&{CAMPAIGN}"),
    ],
)
def test_queries_and_fragments_as_written_non_ascii_values_encoded(url: str, tagged: str) -> None:
    assert tag_url(url, P) == tagged


@pytest.mark.parametrize(
    ("text", "tagged"),
    [
        ("(see https://x.com/a)", "(see https://x.com/a?utm_source=bluesky)"),
        ("Read https://x.com/a.", "Read https://x.com/a?utm_source=bluesky."),
        ("https://x.com/a?b=1, then", "https://x.com/a?b=1&utm_source=bluesky, then"),
        ("Wiki https://w.org/Foo_(bar), ok", "Wiki https://w.org/Foo_(bar)?utm_source=bluesky, ok"),
        ("«https://x.com/a»!", "«https://x.com/a?utm_source=bluesky»!"),
    ],
)
def test_text_links_leave_surrounding_punctuation_outside(text: str, tagged: str) -> None:
    assert tag_text(text, P[:1]) == tagged
