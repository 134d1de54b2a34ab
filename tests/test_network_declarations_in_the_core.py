"""What the core once knew by a network's name now comes from its declaration:
the agenda's abbreviations, account options that are local paths, the length hint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cmctl.networks import registry
from cmctl.networks.base import Network
from tests.conftest import calendar, post


def test_the_agenda_shows_each_network_by_its_declared_abbreviation(project: Any, run: Any) -> None:
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30"), accounts="[masto, bsky, tg, xacct]")
    )
    result = run("agenda", "--week", "--date", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert "bsky,masto,tg,x" in result.stdout.replace("\n", "").replace(" ", "").replace("│", "")


def test_an_abbreviation_is_a_declaration_with_the_name_as_default() -> None:
    class Local(Network):
        name = "local"
        title = "Local"
        max_length = None

    assert Local.short_name() == "local"
    assert registry.get("mastodon").short_name() == "masto"
    from cmctl.agenda import abbreviation

    assert abbreviation("instagram") == "insta"
    assert abbreviation("not-installed") == "not-installed"


def test_local_paths_are_resolved_against_the_project_folder(tmp_path: Path) -> None:
    feed = registry.get("feed")
    assert feed.local_options({"path": "public/feed.xml", "title": "t"}, tmp_path) == {
        "path": str((tmp_path / "public/feed.xml").resolve()),
        "title": "t",
    }
    untouched = {"instance": "https://m.example", "token": "public/feed.xml"}
    assert registry.get("mastodon").local_options(untouched, tmp_path) == untouched


def test_accounts_check_finds_the_feed_beside_cmctl_yaml(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    (project.root / "sub").mkdir()
    monkeypatch.chdir(project.root / "sub")
    result = run("--config", str(project.root / "cmctl.yaml"), "accounts", "check", "--json")
    data = {r["account"]: r for r in json.loads(result.stdout)["accounts"]}
    assert str((project.root / "public" / "feed.xml").resolve()) in data["feed"]["message"]


def test_every_network_hints_at_a_variant_for_a_text_too_long(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="x" * 4097), accounts="[tg]"))
    result = run("validate", "--format", "json")
    (found,) = [d for d in json.loads(result.stdout)["diagnostics"] if d["rule"] == "length"]
    assert found["hint"] == "shorten it, or add a 'telegram' variant with a shorter text"
