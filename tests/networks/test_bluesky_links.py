"""Bluesky shows a link the way its own app does: shortened in the text, the full URL in
the link facet (cmctl/networks/bluesky.py, ``short_url`` and ``displayed``)."""

from __future__ import annotations

from typing import Any

import pytest

from cmctl.networks.bluesky import Bluesky, displayed, short_url
from tests.conftest import as_json, calendar, post

TAGGED = "https://shop.example.com/spring/sale?id=4&utm_source=bluesky&utm_campaign=dec-a#buy"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://example.com", "example.com"),
        ("https://example.com/", "example.com"),
        ("http://Example.COM:8080/a", "example.com:8080/a"),
        ("https://example.com/exactly-15-chr", "example.com/exactly-15-chr"),
        ("https://example.com/sixteen-chars", "example.com/sixteen-chars"),
        ("https://example.com/sixteen-chars!!", "example.com/sixteen-char..."),
        ("https://example.com/?q=1234567890abc", "example.com?q=1234567890..."),
        (TAGGED, "shop.example.com/spring/sale?..."),
        ("https://user:pw@example.com/a", "example.com/a"),
        ("ftp://example.com/a", "ftp://example.com/a"),
    ],
)
def test_short_url_is_host_and_the_start_of_the_rest(url: str, shown: str) -> None:
    assert short_url(url) == shown


def test_displayed_keeps_each_full_url_beside_its_shortened_place() -> None:
    text = f"Spring sale: {TAGGED} and example.org/page 🌸 http://a.example.com/x"
    shown, links = displayed(text)
    assert shown == (
        "Spring sale: shop.example.com/spring/sale?... and example.org/page 🌸 a.example.com/x"
    )
    assert [(shown[e.start : e.end], uri) for e, uri in links] == [
        ("shop.example.com/spring/sale?...", TAGGED),
        ("example.org/page", "https://example.org/page"),  # written without scheme: as is
        ("a.example.com/x", "http://a.example.com/x"),
    ]
    assert Bluesky.shown_text(text) == shown


def test_a_hashtag_or_mention_inside_a_shortened_link_is_no_facet(tmp_path: Any) -> None:
    bsky = Bluesky.__new__(Bluesky)  # facets need no account for links and tags
    shown, links = displayed("https://example.com/a#frag-and-more-text")
    facets = bsky.facets(shown, links)
    assert [f["features"][0]["$type"] for f in facets] == ["app.bsky.richtext.facet#link"]


# ---------------------------------------------------------------------- through the CLI
@pytest.fixture
def bsky(project: Any, fake_bluesky: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    project.config(
        "accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: ${{P}}\n    service: {fake_bluesky.url}\n"
        "defaults:\n  timezone: Europe/Paris\n"
        "  utm: {source: '{network}', campaign: '{calendar}-{post}'}\n"
    )
    monkeypatch.setenv("P", "app-pass-1234")
    return fake_bluesky


LINK = "https://shop.example.com/spring/sale?id=4#buy"
FULL = "https://shop.example.com/spring/sale?id=4&utm_source=bluesky&utm_campaign=dec-a#buy"
SHOWN = "Soldes 🌸\n\nshop.example.com/spring/sale?..."


def test_plan_shows_the_text_as_bluesky_will_show_it(project: Any, run: Any, bsky: Any) -> None:
    project.calendar(calendar(post("a", text="Soldes 🌸", link=LINK), accounts="[bsky]"))
    job = as_json(run("plan", "--json"))["jobs"][0]
    assert job["text"] == SHOWN
    assert job["length"] == len("Soldes 🌸\n\nshop.example.com/spring/sale?...")
    project.calendar(calendar(post("a", text=f"Soldes {LINK}"), accounts="[bsky]"))
    human = run("plan")  # the first line of each text
    assert "Soldes shop.example.com/spring/sale?..." in human.stdout
    assert "https://" not in human.stdout


def test_the_record_shows_the_short_link_and_its_facet_holds_the_full_one(
    project: Any, run: Any, now: Any, bsky: Any
) -> None:
    project.calendar(calendar(post("a", text="Soldes 🌸", link=LINK), accounts="[bsky]"))
    now.move_to("2026-12-01T08:31:00Z")
    result = run("publish")
    assert result.exit_code == 0, result.output
    (record,) = bsky.posts()
    assert record["text"] == SHOWN
    (facet,) = record["facets"]
    data = record["text"].encode()
    span = data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
    assert span == "shop.example.com/spring/sale?..."
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": FULL}]
