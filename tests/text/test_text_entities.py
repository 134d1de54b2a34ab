"""URLs, mentions and hashtags: twitter-text's conformance cases and our examples."""

from __future__ import annotations

from typing import Any

import pytest

from cmctl.text.entities import (
    Entity,
    byte_span,
    extract_hashtags,
    extract_mentions,
    extract_urls,
)

BLUESKY_EXAMPLE = (
    "✨ example mentioning @atproto.com to share the URL 👨‍❤️‍👨 https://en.wikipedia.org/wiki/CBOR."
)


def _is_whole(entities: list[Entity], text: str) -> bool:
    return len(entities) == 1 and (entities[0].start, entities[0].end) == (0, len(text))


# --- conformance: validate.yml ----------------------------------------------------------


def test_url_conformance(url_case: dict[str, Any]) -> None:
    # A valid URL is extracted whole; an invalid one is not (protocol required).
    text = url_case["text"]
    assert _is_whole(extract_urls(text, require_protocol=True), text) is url_case["expected"]


def test_url_without_protocol_conformance(schemeless_url_case: dict[str, Any]) -> None:
    text = schemeless_url_case["text"]
    assert _is_whole(extract_urls(text), text) is schemeless_url_case["expected"]
    assert extract_urls(text, require_protocol=True) == []


def test_hashtag_conformance(hashtag_case: dict[str, Any]) -> None:
    text = hashtag_case["text"]
    assert _is_whole(extract_hashtags(text), text) is hashtag_case["expected"]


# --- Bluesky's worked facet example ---------------------------------------------------


def test_bluesky_facet_example_byte_offsets() -> None:
    (mention,) = extract_mentions(BLUESKY_EXAMPLE)
    (link,) = extract_urls(BLUESKY_EXAMPLE)
    assert mention.value == "atproto.com"
    assert byte_span(BLUESKY_EXAMPLE, mention) == (23, 35)
    assert link.value == "https://en.wikipedia.org/wiki/CBOR"  # full stop left out
    assert byte_span(BLUESKY_EXAMPLE, link) == (74, 108)
    encoded = BLUESKY_EXAMPLE.encode("utf-8")
    assert encoded[23:35] == b"@atproto.com"
    assert encoded[74:108] == b"https://en.wikipedia.org/wiki/CBOR"


def test_byte_span_counts_multibyte_text_before() -> None:
    text = "é @a"
    (mention,) = extract_mentions(text)
    assert (mention.start, mention.end) == (2, 4)
    assert byte_span(text, mention) == (3, 5)


# --- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("Read https://example.com/a/b. Then more.", ["https://example.com/a/b"]),
        ("(see https://example.com/x)", ["https://example.com/x"]),
        (
            "wiki https://en.wikipedia.org/wiki/Café_(boisson)!",
            ["https://en.wikipedia.org/wiki/Café_(boisson)"],
        ),
        ("query https://example.com/?q=1&r=2, ok", ["https://example.com/?q=1&r=2"]),
        (
            "go to example.com or www.python.org/downloads.",
            ["example.com", "www.python.org/downloads"],
        ),
        ("foo.co.jp and t.co", ["foo.co.jp", "t.co"]),
        ("not a tld: example.notatld", []),  # scheme-less needs a known TLD
        ("file.txt and v1.2.3", []),
        ("https://example.notatld", []),  # so does a URL with a scheme
        ("ftp://example.com", []),  # not http(s), and "/" may not precede a bare host
        ("mail me at bob@example.com", []),  # "@" may not precede a host
        ("http://☃.net/", ["http://☃.net/"]),  # Unicode host, punycode xn--n3h
        ("日本語example.com", ["example.com"]),  # only the ASCII part, without a scheme
        ("https://t.co/abc123def?x=1 more", ["https://t.co/abc123def?x=1"]),
        ("HTTPS://WWW.EXAMPLE.COM/INDEX.HTML", ["HTTPS://WWW.EXAMPLE.COM/INDEX.HTML"]),
    ],
)
def test_extract_urls(text: str, urls: list[str]) -> None:
    found = extract_urls(text)
    assert [u.value for u in found] == urls
    assert all(text[u.start : u.end] == u.value and u.kind == "url" for u in found)


def test_require_protocol() -> None:
    text = "example.com and https://example.org"
    assert [u.value for u in extract_urls(text)] == ["example.com", "https://example.org"]
    assert [u.value for u in extract_urls(text, require_protocol=True)] == ["https://example.org"]


def test_host_label_over_63_characters_once_punycoded_is_no_url() -> None:
    ascii_ok = "a" * 63 + ".com"
    assert [u.value for u in extract_urls(ascii_ok)] == [ascii_ok]
    assert extract_urls("a" * 64 + ".com") == []
    # As in validate.yml: these 52 kana punycode to 63 characters, 53 to 64.
    kana = "あいうえおかきくけこ" * 6
    assert len(extract_urls("http://" + kana[:52] + ".com")) == 1
    assert extract_urls("http://" + kana[:53] + ".com") == []


def test_url_longer_than_4096_is_no_url() -> None:
    prefix = "https://example.com/"
    assert len(extract_urls(prefix + "a" * (4096 - len(prefix)))) == 1
    assert extract_urls(prefix + "a" * (4097 - len(prefix))) == []
    # Without a scheme, the "https://" X would add counts too.
    bare = "example.com/"
    assert len(extract_urls(bare + "a" * (4088 - len(bare)))) == 1
    assert extract_urls(bare + "a" * (4089 - len(bare))) == []


def test_long_tco_slug_is_no_url() -> None:
    assert len(extract_urls("https://t.co/" + "a" * 40)) == 1
    assert extract_urls("https://t.co/" + "a" * 41) == []


# --- mentions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("hi @alice!", ["alice"]),
        ("@alice@example.social, welcome", ["alice@example.social"]),
        ("cc @alice.bsky.social.", ["alice.bsky.social"]),  # final "." is punctuation
        ("@my-name.bsky.social and @bob_99", ["my-name.bsky.social", "bob_99"]),
        ("mail bob@example.com", []),  # an e-mail address is no mention
        ("see https://mastodon.social/@Gargron", []),  # inside a URL
        ("@alice@", []),  # followed by "@"
        ("x=@alice", []),
    ],
)
def test_extract_mentions(text: str, values: list[str]) -> None:
    found = extract_mentions(text)
    assert [m.value for m in found] == values
    assert all(m.kind == "mention" and text[m.start : m.end] == "@" + m.value for m in found)


# --- hashtags --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("#launch day #2024 #1st", ["launch", "1st"]),  # digits alone are no hashtag
        ("#café #日本語 #ашок", ["café", "日本語", "ашок"]),
        ("see https://example.com/#anchor", []),  # a URL fragment
        ("a#b and &#39;", []),  # needs a boundary before "#"
        ("#️⃣ keycap", []),
        ("#a#b", []),
    ],
)
def test_extract_hashtags(text: str, values: list[str]) -> None:
    found = extract_hashtags(text)
    assert [h.value for h in found] == values
    assert all(h.kind == "hashtag" and text[h.start : h.end] == "#" + h.value for h in found)


def test_entity_is_frozen() -> None:
    entity = Entity("url", 0, 1, "x")
    with pytest.raises(AttributeError):
        entity.start = 2  # type: ignore[misc]
