"""Recurring posts (`repeat:`) through the real CLI: validate, plan, agenda and publish."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cmctl.calendar import recurrence
from tests.conftest import as_json
from tests.test_publish import feed_ids, publish


def cal(*posts: str, tz: str = "Europe/Paris", accounts: str = "[feed]") -> str:
    return f"timezone: {tz}\ndefaults:\n  accounts: {accounts}\nposts:\n" + "".join(posts)


def rpost(id: str, at: str, repeat: Any, text: Any = "Tip", **extra: Any) -> str:
    lines = [f"  - id: {id}", f"    at: {at}", f"    text: {json.dumps(text)}"]
    lines.append(f"    repeat: {json.dumps(repeat)}")
    for key, value in extra.items():
        lines.append(f"    {key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def plan(run: Any, *args: str) -> list[dict[str, Any]]:
    result = run("plan", "--json", "--from", "2026-01-01", "--to", "2029-12-31", *args)
    assert result.exit_code == 0, result.output
    jobs: list[dict[str, Any]] = as_json(result)["jobs"]
    return jobs


def diagnostics(run: Any) -> tuple[int, list[dict[str, Any]]]:
    result = run("validate", "--format", "json")
    return result.exit_code, as_json(result)["diagnostics"]


def test_weekly_keeps_its_wall_time_across_paris_dst(project: Any, run: Any) -> None:
    # Paris leaves CET for CEST on 2027-03-28: 09:30 stays 09:30, UTC moves an hour
    project.calendar(cal(rpost("weekly-tip", "2027-03-22 09:30", {"every": "week", "count": 3})))
    jobs = plan(run)
    assert [(j["key"], j["local"], j["at"]) for j in jobs] == [
        (
            "dec:weekly-tip~2027-03-22@feed",
            "2027-03-22T09:30:00+01:00",
            "2027-03-22T08:30:00+00:00",
        ),
        (
            "dec:weekly-tip~2027-03-29@feed",
            "2027-03-29T09:30:00+02:00",
            "2027-03-29T07:30:00+00:00",
        ),
        (
            "dec:weekly-tip~2027-04-05@feed",
            "2027-04-05T09:30:00+02:00",
            "2027-04-05T07:30:00+00:00",
        ),
    ]
    assert diagnostics(run) == (0, [])


def test_new_york_autumn_change_and_an_overlap_occurrence(project: Any, run: Any) -> None:
    # New York leaves EDT on 2027-11-07 at 02:00: 01:30 happens twice that night
    project.calendar(
        cal(
            rpost("weekly", "2027-10-31 09:30", {"every": "week", "count": 2}),
            rpost("night", "2027-11-06 01:30", "FREQ=DAILY;COUNT=2"),
            tz="America/New_York",
        )
    )
    jobs = {j["post"]: (j["local"], j["at"]) for j in plan(run)}
    assert jobs["weekly~2027-10-31"] == ("2027-10-31T09:30:00-04:00", "2027-10-31T13:30:00+00:00")
    assert jobs["weekly~2027-11-07"] == ("2027-11-07T09:30:00-05:00", "2027-11-07T14:30:00+00:00")
    # the overlap's first instant: 01:30 EDT
    assert jobs["night~2027-11-07"] == ("2027-11-07T01:30:00-04:00", "2027-11-07T05:30:00+00:00")
    assert diagnostics(run) == (0, [])


def test_an_occurrence_in_a_dst_gap_moves_after_it_and_validate_says_so(
    project: Any, run: Any
) -> None:
    # 02:30 does not exist in Paris on 2027-03-28 (02:00 -> 03:00)
    project.calendar(cal(rpost("night", "2027-03-27 02:30", {"every": "day", "count": 3})))
    jobs = {j["post"]: j["local"] for j in plan(run)}
    assert jobs == {
        "night~2027-03-27": "2027-03-27T02:30:00+01:00",
        "night~2027-03-28": "2027-03-28T03:00:00+02:00",
        "night~2027-03-29": "2027-03-29T02:30:00+02:00",
    }
    code, found = diagnostics(run)
    assert code == 0
    [gap] = found
    assert gap["rule"] == "dst-gap" and gap["severity"] == "warning"
    assert "2027-03-28" in gap["message"] and "03:00" in gap["message"]
    assert "2027-03-27" not in gap["message"]


def test_count_counts_before_except_removes(project: Any, run: Any) -> None:
    repeat = {"every": "week", "on": "mon", "count": 4, "except": ["2027-01-11"]}
    project.calendar(cal(rpost("tip", "2027-01-04 09:30", repeat)))
    assert [j["post"] for j in plan(run)] == ["tip~2027-01-04", "tip~2027-01-18", "tip~2027-01-25"]


def test_readable_forms(project: Any, run: Any) -> None:
    project.calendar(
        cal(
            rpost(
                "two", "2027-01-04 09:30", {"every": "2 weeks", "on": ["mon", "thu"], "count": 4}
            ),
            rpost("recap", "2027-01-29 18:00", {"every": "month", "on": "last friday", "count": 3}),
            rpost("mid", "2027-01-15 12:00", {"every": "month", "on": 15, "until": "2027-03-15"}),
        )
    )
    posts = [j["post"] for j in plan(run)]
    assert [p for p in posts if p.startswith("two")] == [
        "two~2027-01-04",
        "two~2027-01-07",
        "two~2027-01-18",
        "two~2027-01-21",
    ]
    assert [p for p in posts if p.startswith("recap")] == [
        "recap~2027-01-29",
        "recap~2027-02-26",
        "recap~2027-03-26",
    ]
    # until is inclusive
    assert [p for p in posts if p.startswith("mid")] == [
        "mid~2027-01-15",
        "mid~2027-02-15",
        "mid~2027-03-15",
    ]


def test_an_rrule_string_with_or_without_its_prefix(project: Any, run: Any) -> None:
    project.calendar(
        cal(
            rpost("a", "2027-01-29 18:00", "RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=2"),
            rpost("b", "2027-01-29 18:00", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=2"),
        )
    )
    posts = [j["post"] for j in plan(run)]
    assert posts == ["a~2027-01-29", "b~2027-01-29", "a~2027-02-26", "b~2027-02-26"]


def test_a_list_of_texts_rotates_and_is_judged_once_per_text(project: Any, run: Any) -> None:
    long = "x" * 600  # over Mastodon's 500
    project.calendar(
        cal(
            rpost("tip", "2027-01-04 09:30", {"every": "week", "count": 6}, ["A", "B", long]),
            accounts="[masto]",
        )
    )
    code, found = diagnostics(run)
    assert code == 1
    assert [d["rule"] for d in found] == ["length"]  # once, not once per occurrence
    project.calendar(
        cal(rpost("tip", "2027-01-04 09:30", {"every": "week", "count": 5}, ["A", "B", "C"]))
    )
    assert diagnostics(run) == (0, [])
    assert [j["text"] for j in plan(run)] == ["A", "B", "C", "A", "B"]


def test_validate_refuses_what_cannot_be_a_recurring_post(project: Any, run: Any) -> None:
    project.calendar(
        cal(
            rpost("hourly", "2027-01-04 09:30", "FREQ=HOURLY"),
            rpost("twice", "2027-01-04 09:30", "FREQ=DAILY;BYHOUR=9,17;COUNT=4"),
            rpost("bad", "2027-01-04 09:30", "FREQ=WEEKLY;BYDAY=XX"),
            rpost("nth", "2027-01-04 09:30", {"every": "week", "on": "first monday"}),
            "  - id: list\n    at: 2027-01-04 09:30\n    text: [a, b]\n",
        )
    )
    code, found = diagnostics(run)
    assert code == 1
    rules = sorted(d["rule"] for d in found if d["severity"] == "error")
    assert rules == ["repeat", "repeat", "repeat-too-often", "repeat-twice-a-day", "text-list"]
    assert run("validate").exit_code == 1  # a clear message, never a traceback


def test_a_rule_with_no_end_is_expanded_over_the_horizon(project: Any, run: Any, now: Any) -> None:
    project.calendar(cal(rpost("daily", "2026-12-01 09:30", {"every": "day"})))
    jobs = plan(run)
    last = datetime(2026, 11, 20, 12, 0, tzinfo=UTC) + recurrence.HORIZON  # 2027-12-25 13:00
    assert jobs[0]["post"] == "daily~2026-12-01"
    assert jobs[-1]["post"] == "daily~2027-12-25"
    assert len(jobs) == (last.date() - datetime(2026, 12, 1).date()).days + 1  # noqa: DTZ001
    now.move_to("2027-06-01T00:00:00Z")  # the horizon moves with the clock
    # 2028-07-05 00:00 UTC is 02:00 in Paris: that day's 09:30 is beyond the horizon
    assert plan(run)[-1]["post"] == "daily~2028-07-04"


def test_agenda_shows_each_occurrence(project: Any, run: Any) -> None:
    project.calendar(cal(rpost("tip", "2026-12-07 09:30", {"every": "week", "count": 3})))
    result = run("agenda", "--month", "--date", "2026-12-01", "--json")
    assert result.exit_code == 0
    assert result.stdout.count("tip~2026-12-") == 3


def test_editing_the_rule_after_publishing_never_republishes(
    project: Any, run: Any, now: Any
) -> None:
    project.calendar(cal(rpost("tip", "2026-12-07 09:30", {"every": "week"}, ["A", "B"])))
    for day in ("2026-12-07", "2026-12-14"):
        now.move_to(f"{day}T08:31:00Z")
        code, data = publish(run)
        assert code == 0 and [o["key"] for o in data["outcomes"]] == [f"dec:tip~{day}@feed"]
    sent = ["urn:cmctl:dec:tip~2026-12-07@feed", "urn:cmctl:dec:tip~2026-12-14@feed"]
    assert sorted(feed_ids(project)) == sent
    # New texts, another rhythm, another time: the occurrences that went out stay out
    project.calendar(
        cal(rpost("tip", "2026-12-07 09:35", {"every": "2 weeks", "on": "mon"}, ["C", "D"]))
    )
    now.move_to("2026-12-14T08:40:00Z")
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == []
    assert sorted(feed_ids(project)) == sent
    now.move_to("2026-12-21T08:36:00Z")
    code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["dec:tip~2026-12-21@feed"]
    jobs = {j["key"]: j for j in plan(run)}
    assert jobs["dec:tip~2026-12-21@feed"]["text"] == "D"  # the new rule's 2nd occurrence
    assert jobs["dec:tip~2026-12-07@feed"]["state"].startswith("published")


def test_a_future_occurrence_removed_by_except_is_cancelled(
    project: Any, run: Any, now: Any
) -> None:
    project.calendar(cal(rpost("tip", "2026-12-07 09:30", {"every": "week", "count": 3})))
    now.move_to("2026-12-01T08:00:00Z")
    assert publish(run)[0] == 0  # nothing due: the ledger learns the plan
    repeat = {"every": "week", "count": 3, "except": ["2026-12-14"]}
    project.calendar(cal(rpost("tip", "2026-12-07 09:30", repeat)))
    assert publish(run)[0] == 0
    log = as_json(run("log", "--events", "--json"))["entries"]
    cancelled = {e["key"] for e in log if e["event"].startswith("cancelled")}
    assert cancelled == {"dec:tip~2026-12-14@feed"}
    now.move_to("2026-12-07T08:31:00Z")
    code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["dec:tip~2026-12-07@feed"]
    now.move_to("2026-12-14T08:31:00Z")
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == []
    now.move_to("2026-12-21T08:31:00Z")
    code, data = publish(run)
    assert [o["key"] for o in data["outcomes"]] == ["dec:tip~2026-12-21@feed"]


def test_publish_post_names_one_occurrence_or_the_series(project: Any, run: Any, now: Any) -> None:
    project.calendar(cal(rpost("tip", "2026-12-07 09:30", {"every": "week", "count": 2})))
    now.move_to("2026-12-01T08:00:00Z")
    code, data = publish(run, "--post", "tip~2026-12-14")
    assert code == 0 and [o["key"] for o in data["outcomes"]] == ["dec:tip~2026-12-14@feed"]
    result = run("publish", "--post", "tip")
    assert result.exit_code == 2 and "tip~2026-12-07" in result.output


def test_the_documented_examples_are_valid(project: Any, run: Any) -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "calendar-format.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Recurring posts") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    example = section[start : section.index("```\n", start)]
    project.calendar("timezone: Europe/Paris\ndefaults:\n  accounts: [feed]\n" + example)
    assert diagnostics(run) == (0, [])
    posts = [j["post"] for j in plan(run, "--to", "2027-01-31")]
    assert posts[:3] == [
        "weekly-tip~2027-01-04",
        "live-teaser~2027-01-05",
        "live-teaser~2027-01-07",
    ]


def test_cancel_names_a_recurring_post_for_all_its_unsent_occurrences(
    project: Any, run: Any, now: Any
) -> None:
    project.calendar(cal(rpost("tip", "2026-12-07 09:30", {"every": "week", "count": 3})))
    now.move_to("2026-12-07T08:31:00Z")
    assert publish(run)[0] == 0  # the first one goes out
    assert run("cancel", "dec:tip").exit_code == 0
    states = {j["key"]: j["state"] for j in plan(run)}
    assert states["dec:tip~2026-12-07@feed"] == "published"
    assert states["dec:tip~2026-12-14@feed"] == states["dec:tip~2026-12-21@feed"] == "skipped"


def test_each_distinct_text_is_checked_once_per_network(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    from cmctl.networks.base import Network

    texts: list[str] = []
    media: list[int] = []
    check_text = Network.check_text.__func__  # type: ignore[attr-defined]
    check_media = Network.check_media.__func__  # type: ignore[attr-defined]

    def counting_text(cls: Any, text: str, **kwargs: Any) -> Any:
        texts.append(text)
        return check_text(cls, text, **kwargs)

    def counting_media(cls: Any, facts: Any) -> Any:
        media.append(len(facts))
        return check_media(cls, facts)

    monkeypatch.setattr(Network, "check_text", classmethod(counting_text))
    monkeypatch.setattr(Network, "check_media", classmethod(counting_media))
    project.calendar(
        cal(rpost("tip", "2027-01-04 09:30", {"every": "week", "count": 52}, ["A", "B"]))
    )
    assert diagnostics(run) == (0, [])
    assert sorted(texts) == ["A", "B"]  # not 52 times
    assert len(media) == 2
