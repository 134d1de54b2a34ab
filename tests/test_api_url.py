"""Every account accepts `api_url`: where its API calls go, over the public default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmctl.networks import registry
from cmctl.networks.http import Http
from tests.networks.helpers import make_outgoing


@pytest.mark.parametrize("name", registry.names())
def test_every_network_says_where_its_api_calls_go(name: str) -> None:
    cls = registry.get(name)
    own = cls.field(cls.api_base_field) if cls.api_base_field else None
    assert cls.api_base is not None or own is not None or name in ("feed", "wordpress")
    assert cls.field("api_url") is not None and cls.field("media_url") is not None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://api.example.com", "must be an http(s) URL"),
        ("https://user:hunter2-secret@api.example.com", "user name or password"),
        ("https://", "has no host"),
        ("https://api.example.com/?token=abc", "query"),
        ("https://api.example.com:99999", "not a valid URL"),
        ("not a url", "without spaces"),
    ],
)
def test_a_bad_api_url_is_a_clean_config_error(
    project: Any, run: Any, value: str, problem: str
) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n    instance: https://m.example\n"
        f"    token: x-token-123456\n    api_url: {value!r}\n"
    )
    result = run("validate")
    assert result.exit_code == 2, result.output
    assert "accounts.masto.api_url" in result.output and problem in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_a_good_api_url_and_media_url_are_accepted(project: Any, run: Any) -> None:
    project.config(
        "media_url: https://cdn.example.com/brand\naccounts:\n  tg:\n    network: telegram\n"
        "    token: ${TG_TOKEN}\n    chat: '@brand_news'\n"
        "    api_url: http://127.0.0.1:8081/proxy\n    media_url: https://other.example\n"
    )
    project.calendar("timezone: UTC\nposts: []\n")
    result = run("validate")
    assert result.exit_code == 0, result.output


def test_a_bad_top_level_media_url_is_a_config_error(project: Any, run: Any) -> None:
    project.config("media_url: file:///srv/www\n")
    result = run("validate")
    assert result.exit_code == 2 and "'media_url' must be an http(s) URL" in result.output


def test_mastodon_calls_go_to_api_url_over_the_instance(tmp_path: Path, fake_mastodon: Any) -> None:
    from cmctl.networks.mastodon import Mastodon

    options = {
        "instance": "https://mastodon.invalid",
        "token": "good-token",
        "api_url": fake_mastodon.url,
    }
    adapter = Mastodon("masto", options, Http(), tmp_path)
    try:
        assert "on mastodon.invalid" in adapter.check()  # named by its instance
        adapter.publish(make_outgoing("dec:a@masto", "hello"))
    finally:
        adapter.close()
    assert fake_mastodon.requests_to("/api/v1/statuses", "POST")


def test_bluesky_calls_go_to_api_url_over_the_service(tmp_path: Path, fake_bluesky: Any) -> None:
    from cmctl.networks.bluesky import Bluesky

    options = {
        "handle": "brand.test",
        "app_password": "app-pass-1234",
        "service": "https://pds.invalid",
        "api_url": fake_bluesky.url + "/",
    }
    adapter = Bluesky("bsky", options, Http(), tmp_path)
    try:
        adapter.publish(make_outgoing("dec:a@bsky", "hello"))
    finally:
        adapter.close()
    assert len(fake_bluesky.posts()) == 1


def test_the_public_default_when_nothing_is_set(tmp_path: Path) -> None:
    from cmctl.networks.bluesky import Bluesky

    telegram = registry.get("telegram")
    assert telegram({}, {}, Http(), tmp_path).api_url == "https://api.telegram.org"
    assert telegram({}, {"api_url": "http://proxy:81/"}, Http(), tmp_path).api_url == (
        "http://proxy:81"
    )
    assert Bluesky("b", {}, Http(), tmp_path).api_url == "https://bsky.social"
    assert Bluesky("b", {"service": "pds.example"}, Http(), tmp_path).api_url == (
        "https://pds.example"
    )
