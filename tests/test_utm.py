"""Link tracking (`utm:`): the tagging itself as units, the rest through the real CLI."""

from __future__ import annotations

from typing import Any

import pytest

from cmctl.utm import Utm, tag_text, tag_url
from tests.conftest import DEFAULT_CONFIG, as_json, calendar, post

P = (("utm_source", "bluesky"), ("utm_medium", "social"))


def jobs(run: Any, *args: str) -> list[dict[str, Any]]:
    result = run("plan", "--json", *args)
    assert result.exit_code == 0, result.output
    return as_json(result)["jobs"]


def texts(run: Any) -> dict[str, str]:
    return {j["account"]: j["text"] for j in jobs(run)}


def diags(run: Any) -> tuple[int, list[dict[str, Any]]]:
    result = run("validate", "--format", "json")
    return result.exit_code, as_json(result)["diagnostics"]


def with_defaults(utm: str) -> str:
    """DEFAULT_CONFIG with ``utm`` (YAML flow mapping) in its defaults."""
    return DEFAULT_CONFIG + f"  utm: {utm}\n"


# ---------------------------------------------------------------------- tagging a URL
def test_a_query_string_and_a_fragment_are_kept() -> None:
    assert (
        tag_url("https://shop.example.com/p?id=4&ref=a%20b#reviews", P)
        == "https://shop.example.com/p?id=4&ref=a%20b&utm_source=bluesky&utm_medium=social#reviews"
    )


def test_a_bare_link_gets_a_query() -> None:
    assert tag_url("https://shop.example.com", P) == (
        "https://shop.example.com?utm_source=bluesky&utm_medium=social"
    )
    assert (
        tag_url("shop.example.com/p", P)
        == "shop.example.com/p?utm_source=bluesky&utm_medium=social"
    )


def test_a_utm_parameter_already_in_the_link_is_kept_not_duplicated() -> None:
    assert tag_url("https://s.example.com/?utm_source=newsletter", P) == (
        "https://s.example.com/?utm_source=newsletter&utm_medium=social"
    )
    assert tag_url("https://s.example.com/?utm_source=a&utm_medium=b", P) == (
        "https://s.example.com/?utm_source=a&utm_medium=b"
    )


def test_values_are_percent_encoded() -> None:
    tagged = tag_url("https://s.example.com/", (("utm_campaign", "soldes d'été & co/2027"),))
    assert (
        tagged == "https://s.example.com/?utm_campaign=soldes%20d%27%C3%A9t%C3%A9%20%26%20co%2F2027"
    )


def test_only_links_written_with_a_scheme_are_tagged_in_a_text() -> None:
    text = (
        "Read https://blog.example.com/post. Not example.com, nor cmctl.py.\nhttp://b.example.com"
    )
    assert tag_text(text, (("utm_source", "x"),)) == (
        "Read https://blog.example.com/post?utm_source=x. Not example.com, nor cmctl.py.\n"
        "http://b.example.com?utm_source=x"
    )


def test_levels_merge_key_by_key_and_an_empty_value_removes_one() -> None:
    base = Utm((("source", "s"), ("medium", "m"), ("term", "t")), text_links=True)
    top = Utm((("medium", "M"), ("term", "")))
    merged = top.over(base)
    assert merged.values == (("source", "s"), ("medium", "M"), ("term", ""))
    assert merged.text_links is True


# ---------------------------------------------------------------------- through the CLI
def test_placeholders_are_filled_per_account_and_network(project: Any, run: Any) -> None:
    project.config(
        with_defaults(
            "{source: '{network}', medium: social, campaign: '{calendar}-{post}', "
            "content: '{account}'}"
        )
    )
    project.calendar(
        calendar(
            post("spring", text="Soldes", link="https://shop.example.com/"), accounts="[masto, tg]"
        )
    )
    assert texts(run) == {
        "masto": "Soldes\n\nhttps://shop.example.com/?utm_source=mastodon&utm_medium=social"
        "&utm_campaign=dec-spring&utm_content=masto",
        "tg": "Soldes\n\nhttps://shop.example.com/?utm_source=telegram&utm_medium=social"
        "&utm_campaign=dec-spring&utm_content=tg",
    }


def test_a_recurring_post_is_tagged_with_its_series_id(project: Any, run: Any) -> None:
    project.config(with_defaults("{source: '{network}', campaign: '{post}'}"))
    project.calendar(
        calendar(
            post(
                "weekly-tip",
                at="2026-12-07 09:30",
                link="https://s.example.com/tips",
                repeat={"every": "week", "count": 2},
            )
        )
    )
    found = jobs(run)
    assert [j["post"] for j in found] == ["weekly-tip~2026-12-07", "weekly-tip~2026-12-14"]
    assert {j["text"] for j in found} == {
        "Bonjour\n\nhttps://s.example.com/tips?utm_source=mastodon&utm_campaign=weekly-tip"
    }


def test_config_then_calendar_then_post_then_variant(project: Any, run: Any) -> None:
    project.config(with_defaults("{source: cfg, medium: cfg, campaign: cfg, term: cfg}"))
    project.calendar(
        "timezone: Europe/Paris\n"
        "defaults:\n  accounts: [masto, tg]\n  link: https://s.example.com/\n"
        "  utm: {medium: cal, campaign: cal, term: cal}\n"
        "posts:\n"
        + post(
            "a",
            utm={"campaign": "post", "term": ""},
            variants={"tg": {"utm": {"source": "variant"}}},
        )
    )
    assert texts(run) == {
        "masto": "Bonjour\n\nhttps://s.example.com/?utm_source=cfg&utm_medium=cal&utm_campaign=post",
        "tg": "Bonjour\n\nhttps://s.example.com/?utm_source=variant&utm_medium=cal&utm_campaign=post",
    }


def test_text_links_tags_the_urls_in_the_text_too(project: Any, run: Any) -> None:
    text = "New: https://blog.example.com/a#top"
    project.calendar(
        calendar(post("a", text=text, link="https://s.example.com/", utm={"source": "{network}"}))
    )
    assert texts(run)["masto"] == f"{text}\n\nhttps://s.example.com/?utm_source=mastodon"
    project.calendar(
        calendar(
            post(
                "a",
                text=text,
                link="https://s.example.com/",
                utm={"source": "{network}", "text_links": True},
                thread=["More: https://blog.example.com/b"],
            )
        )
    )
    found = jobs(run)
    assert [j["text"] for j in found] == [
        "New: https://blog.example.com/a?utm_source=mastodon#top\n\n"
        "https://s.example.com/?utm_source=mastodon",
        "More: https://blog.example.com/b?utm_source=mastodon",
    ]


def test_the_content_hash_changes_with_the_tagged_link(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", link="https://s.example.com/", utm={"campaign": "one"})))
    before = jobs(run)[0]["content_hash"]
    project.calendar(calendar(post("a", link="https://s.example.com/", utm={"campaign": "two"})))
    assert jobs(run)[0]["content_hash"] != before


def test_lengths_are_counted_on_the_tagged_text(project: Any, run: Any) -> None:
    # Bluesky shows "s.example.com" for the bare link, "s.example.com?utm_source=b..." tagged.
    body = "x" * 285
    project.calendar(
        calendar(post("a", text=body, link="https://s.example.com/"), accounts="[bsky]")
    )
    assert run("validate").exit_code == 0
    project.config(with_defaults("{source: bluesky}"))
    code, d = diags(run)
    assert code == 1
    assert "316/300 graphemes for bluesky" in d[0]["message"]


def test_mastodon_counts_a_tagged_link_as_23_characters_like_any(project: Any, run: Any) -> None:
    project.config(with_defaults("{source: '{network}', campaign: a-very-long-campaign-name}"))
    project.calendar(calendar(post("a", text="x" * 475, link="https://s.example.com/")))
    code, _ = diags(run)
    assert code == 0  # 475 + 2 + 23: the tagged URL weighs what any URL weighs there


def test_unknown_key_is_an_error_at_its_position(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", link="https://s.example.com/", utm={"sorce": "x"})))
    code, d = diags(run)
    assert code == 1
    assert (d[0]["line"], d[0]["col"]) == (9, 11)
    assert "sorce" in d[0]["message"]


def test_unknown_placeholder_is_an_error_naming_it(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", link="https://s.example.com/", utm={"source": "{netwrk}"})))
    code, d = diags(run)
    assert code == 1
    assert d[0]["rule"] == "utm-placeholder"
    assert "'{netwrk}'" in d[0]["message"] and "{network}" in d[0]["hint"]
    assert d[0]["line"] == 9


@pytest.mark.parametrize(
    ("utm", "needle"),
    [("{medium: social, colour: blue}", "colour"), ("{source: '{who}'}", "{who}")],
)
def test_bad_defaults_utm_in_cmctl_yaml_exits_2(
    project: Any, run: Any, utm: str, needle: str
) -> None:
    project.config(with_defaults(utm))
    project.calendar(calendar(post("a")))
    result = run("validate")
    assert result.exit_code == 2
    assert needle in result.output
    assert "cmctl.yaml:23:" in result.output


def test_two_accounts_of_one_network_get_their_own_tags(project: Any, run: Any) -> None:
    config = DEFAULT_CONFIG.replace(
        "  bsky:\n",
        "  masto2:\n    network: mastodon\n    instance: https://m2.example.com\n"
        "    token: ${MASTO_TOKEN}\n  bsky:\n",
    )
    project.config(config + "  utm: {content: '{account}'}\n")
    project.calendar(calendar(post("a", link="https://s.example.com/"), accounts="[masto, masto2]"))
    assert texts(run) == {
        "masto": "Bonjour\n\nhttps://s.example.com/?utm_content=masto",
        "masto2": "Bonjour\n\nhttps://s.example.com/?utm_content=masto2",
    }
