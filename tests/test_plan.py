"""`cmctl plan` and `cmctl agenda`: jobs, identities, order, filters."""

from __future__ import annotations

from typing import Any

from tests.conftest import as_json, calendar, post


def jobs(run: Any, *args: str) -> list[dict[str, Any]]:
    result = run("plan", "--json", *args)
    assert result.exit_code == 0, result.output
    return as_json(result)["jobs"]


def test_one_job_per_post_and_account_thread_parts_in_order(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("b", at="2026-12-02 10:00", thread=["deux", "trois"]),
            post("a", at="2026-12-01 10:00"),
            accounts="[masto, bsky]",
        )
    )
    keys = [j["key"] for j in jobs(run)]
    assert keys == [
        "dec:a@bsky",
        "dec:a@masto",
        "dec:b@bsky",
        "dec:b@bsky#1",
        "dec:b@bsky#2",
        "dec:b@masto",
        "dec:b@masto#1",
        "dec:b@masto#2",
    ]


def test_identity_survives_edits_of_text_and_time(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 10:00", text="v1")))
    [before] = jobs(run)
    project.calendar(calendar(post("a", at="2026-12-03 18:00", text="v2 changée")))
    [after] = jobs(run)
    assert before["key"] == after["key"] == "dec:a@masto"
    assert before["content_hash"] != after["content_hash"]
    assert before["at"] != after["at"]


def test_compile_is_deterministic(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            *(post(f"p{i}", at=f"2026-12-{1 + i % 20:02d} 10:00") for i in range(40)),
            accounts="[masto, bsky]",
        )
    )
    first = run("plan", "--json").stdout
    assert first == run("plan", "--json").stdout
    assert len(as_json(run("plan", "--json"))["jobs"]) == 80


def test_calendar_name_is_its_path_or_its_own(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a")), name="2026/dec.yaml")
    project.calendar("calendar: promo\n" + calendar(post("a")), name="other.yaml")
    assert sorted(j["key"] for j in jobs(run)) == ["2026/dec:a@masto", "promo:a@masto"]


def test_text_composes_link_and_hashtags_and_variants(project: Any, run: Any) -> None:
    project.calendar(
        "timezone: Europe/Paris\ndefaults:\n  accounts: [masto, bsky]\n  hashtags: [cm]\n"
        "posts:\n"
        + post("a", text="Bonjour", link="https://example.org", variants={"bsky": {"hashtags": []}})
    )
    texts = {j["account"]: j["text"] for j in jobs(run)}
    assert texts == {
        "masto": "Bonjour\n\nhttps://example.org\n\n#cm",
        "bsky": "Bonjour\n\nexample.org",  # as Bluesky shows the link
    }


def test_account_variant_beats_network_variant(project: Any, run: Any) -> None:
    project.calendar(
        calendar(post("a", variants={"mastodon": {"text": "net"}, "masto": {"text": "acct"}}))
    )
    assert [j["text"] for j in jobs(run)] == ["acct"]


def test_from_to_filters_by_local_day(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 23:30"),
            post("b", at="2026-12-02 00:30"),
            post("c", at="2026-12-03 09:00"),
        )
    )
    assert [j["post"] for j in jobs(run, "--from", "2026-12-02")] == ["b", "c"]
    assert [j["post"] for j in jobs(run, "--to", "2026-12-02")] == ["a", "b"]
    assert [j["post"] for j in jobs(run, "--from", "2026-12-02", "--to", "2026-12-02")] == ["b"]
    bad = run("plan", "--from", "tomorrow")
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_drafts_are_hidden_unless_asked(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), post("b", status="draft")))
    result = run("plan", "--json")
    assert [j["post"] for j in as_json(result)["jobs"]] == ["a"]
    assert as_json(result)["drafts_hidden"] == 1
    assert [j["post"] for j in jobs(run, "--drafts")] == ["a", "b"]


def test_filters_by_account_and_network(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), accounts="[masto, bsky, feed]"))
    assert [j["account"] for j in jobs(run, "--network", "bluesky")] == ["bsky"]
    assert [j["account"] for j in jobs(run, "--account", "feed")] == ["feed"]


def test_plan_table_shows_local_utc_length(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30", text="Bonjour le monde")))
    result = run("plan")
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "masto" in line)
    assert "2026-12-01 09:30 CET" in row and "08:30Z" in row
    assert "Bonjour le monde" in row and "16/500" in row


def test_plan_exits_1_when_calendars_have_errors(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="x" * 501), post("b")))
    result = run("plan")
    assert result.exit_code == 1
    assert "cmctl validate" in result.stderr
    assert "b" in result.stdout


def test_agenda_month_grid(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("lancement", at="2026-12-01 09:30"),
            post("brouillon", at="2026-12-15 12:00", status="draft"),
            post("fil", at="2026-12-15 08:00", thread=["2"]),
            post("janvier", at="2027-01-04 10:00"),
        )
    )
    result = run("agenda", "--date", "2026-12-10", "--json")
    assert result.exit_code == 0
    data = as_json(result)
    assert data["title"] == "December 2026"
    days = {d["date"]: d["posts"] for d in data["days"]}
    assert [p["post"] for p in days["2026-12-01"]] == ["lancement"]
    assert [(p["post"], p["draft"], p["parts"]) for p in days["2026-12-15"]] == [
        ("fil", False, 2),
        ("brouillon", True, 1),
    ]
    assert "2027-01-04" not in days  # the grid ends on Sunday 2027-01-03
    text = run("agenda", "--date", "2026-12-10").stdout
    assert "09:30 lancement" in text and "(draft)" in text


def test_agenda_week(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-02 09:30"), post("b", at="2026-12-08 10:00")))
    data = as_json(run("agenda", "--week", "--date", "2026-12-03", "--json"))
    assert data["days"][0]["date"] == "2026-11-30"
    assert [p["post"] for d in data["days"] for p in d["posts"]] == ["a"]


def test_block_scalars_are_trimmed_in_every_part(project: Any, run: Any) -> None:
    project.calendar(
        "timezone: Europe/Paris\ndefaults:\n  accounts: [masto]\nposts:\n"
        "  - id: a\n    at: 2026-12-01 10:00\n    text: |\n      Un\n"
        "    thread:\n      - |\n        Deux\n      - text: >\n          Trois\n"
    )
    assert [(j["text"], j["length"]) for j in jobs(run)] == [("Un", 2), ("Deux", 4), ("Trois", 5)]
