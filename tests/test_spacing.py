"""Spacing and blackouts: ``min_gap`` and ``blackout`` of cmctl.yaml (cmctl.spacing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl import config as config_mod
from cmctl.diagnostics import Sink
from cmctl.errors import ConfigError
from cmctl.rules import check_gaps
from cmctl.spacing import Blackout, Blackouts, read_blackouts, too_close
from cmctl.yamlsrc import load_file
from tests.conftest import DEFAULT_CONFIG, as_json

T0 = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


# -- units: parsing ------------------------------------------------------------------


def blackouts(text: str) -> tuple[Blackouts, list[str]]:
    root = load_file(text.encode()).root
    sink = Sink("cmctl.yaml")
    found = read_blackouts(root.get("blackout"), sink)  # type: ignore[union-attr]
    return found, [d.message for d in sink.items]


def test_dates_and_ranges_are_read_inclusive() -> None:
    found, problems = blackouts(
        "blackout:\n"
        "  - 2027-01-01\n"
        "  - {from: 2027-03-10, to: 2027-03-12, reason: product recall}\n"
        "  - {from: 2027-05-01, reason: one day}\n"
    )
    assert problems == []
    assert found.find(date(2027, 1, 1)) == Blackout(date(2027, 1, 1), date(2027, 1, 1), None, 2, 5)
    assert found.find(date(2026, 12, 31)) is None
    assert found.find(date(2027, 1, 2)) is None
    recall = found.find(date(2027, 3, 10))
    assert recall is not None and recall.reason == "product recall"
    assert found.find(date(2027, 3, 12)) is recall  # inclusive
    assert found.find(date(2027, 3, 13)) is None
    assert found.find(date(2027, 3, 9)) is None
    one = found.find(date(2027, 5, 1))
    assert one is not None and (one.start, one.end, one.reason) == (
        date(2027, 5, 1),
        date(2027, 5, 1),
        "one day",
    )
    assert recall.describe() == "blackout 2027-03-10 to 2027-03-12 (product recall)"


def test_a_day_inside_a_long_range_behind_a_later_short_one_is_found() -> None:
    found = Blackouts.of(
        [
            Blackout(date(2027, 6, 1), date(2027, 6, 1)),
            Blackout(date(2027, 1, 1), date(2027, 12, 31), "the whole year"),
        ]
    )
    hit = found.find(date(2027, 8, 1))
    assert hit is not None and hit.reason == "the whole year"
    assert found.find(date(2028, 1, 1)) is None
    assert not Blackouts() and Blackouts().find(date(2027, 1, 1)) is None


def test_bad_dates_and_backward_ranges_name_the_key() -> None:
    _, problems = blackouts(
        "blackout:\n  - 2027-02-30\n  - {from: 2027-03-12, to: 2027-03-10}\n  - 1999-01-01\n"
    )
    assert problems[0] == "'blackout[0]': '2027-02-30' is not a date"
    assert problems[1] == "'blackout[1].to' (2027-03-10) is before its 'from' (2027-03-12)"
    assert problems[2].startswith("'blackout[2]': cmctl works with dates from 2000")


def test_min_gap_per_account_wins_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cmctl.yaml"
    text = DEFAULT_CONFIG.replace("  bsky:\n", "  bsky:\n    min_gap: 90m\n")
    text = text.replace("  tg:\n", "  tg:\n    min_gap: 0\n")
    path.write_text(text + "  min_gap: 2h\n")
    config = config_mod.load(path)
    assert config.min_gap_for("bsky") == timedelta(minutes=90)
    assert config.min_gap_for("masto") == timedelta(hours=2)
    assert config.min_gap_for("tg") is None  # 0: none, whatever the defaults say
    assert config.min_gap_for("nobody") == timedelta(hours=2)
    assert "min_gap" not in config.accounts["bsky"].options  # not an option of the network
    path.write_text(text)
    assert config_mod.load(path).min_gap_for("masto") is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("    min_gap: 2 hours\n", "'accounts.bsky.min_gap'"),
        ("    min_gap: 400d\n", "too long"),
    ],
)
def test_a_bad_min_gap_is_a_config_error(tmp_path: Path, written: str, expected: str) -> None:
    path = tmp_path / "cmctl.yaml"
    path.write_text(DEFAULT_CONFIG.replace("  bsky:\n", f"  bsky:\n{written}"))
    with pytest.raises(ConfigError) as caught:
        config_mod.load(path)
    assert any(expected in d.message for d in caught.value.diagnostics)


# -- units: the gap check -----------------------------------------------------------


def test_too_close_compares_neighbours() -> None:
    times = [T0, T0 + 3 * H, T0 + 4 * H, T0 + 4 * H, T0 + 7 * H]
    assert too_close(times, 2 * H) == [2, 3]
    assert too_close(times, H) == [3]  # exactly the gap is not closer
    assert too_close([], H) == [] and too_close([T0], H) == []


def sighting(account: str, at: datetime, key: str, line: int, part: int = 0) -> tuple[Any, ...]:
    return ((account, part, at, "hash"), (line - 1, 3, key, line, 9))


def test_check_gaps_warns_at_the_later_post_across_files(tmp_path: Path) -> None:
    path = tmp_path / "cmctl.yaml"
    path.write_text(DEFAULT_CONFIG.replace("  bsky:\n", "  bsky:\n    min_gap: 2h\n"))
    config = config_mod.load(path)
    files = [
        ("a.yaml", [sighting("bsky", T0, "a:launch@bsky", 4)]),
        (
            "b.yaml",
            [
                sighting("bsky", T0 + H, "b:tip~2027-02-01@bsky", 7),
                sighting("bsky", T0 + H + timedelta(minutes=1), "b:x@bsky#1", 8, part=1),
                sighting("masto", T0 + H, "b:tip~2027-02-01@masto", 7),  # no gap set
                sighting("bsky", T0 + 3 * H, "b:later@bsky", 12),  # exactly 2h: fine
            ],
        ),
        (
            "c.yaml",
            [
                sighting("bsky", T0 - 30 * H, "c:old@bsky", 3),
                sighting("bsky", T0 - 29 * H, "c:older@bsky", 6),  # before now: not said
            ],
        ),
    ]
    (found,) = check_gaps(config, files, T0 - 20 * H)
    assert (found.path, found.line, found.col, found.severity) == ("b.yaml", 7, 9, "warning")
    assert found.message == (
        "post 'tip' on 2027-02-01 is 1h after post 'launch' (a.yaml:4) on account 'bsky': "
        "closer than its min_gap of 2h"
    )
    assert found.rule == "min-gap"


# -- through the CLI ----------------------------------------------------------------


def with_config(project: Any, accounts_extra: str = "", top: str = "") -> None:
    text = DEFAULT_CONFIG.replace("  feed:\n", f"  feed:\n{accounts_extra}")
    project.config(text + top)


def calendar(project: Any, name: str, body: str, accounts: str = "[feed]") -> Path:
    text = f"timezone: Europe/Paris\ndefaults:\n  accounts: {accounts}\nposts:\n{body}"
    path: Path = project.calendar(text, name=name)
    return path


def diagnostics(run: Any, *rules: str) -> tuple[int, list[dict[str, Any]]]:
    result = run("validate", "--format", "json")
    found = [d for d in as_json(result)["diagnostics"] if not rules or d["rule"] in rules]
    return result.exit_code, found


def test_min_gap_warns_across_two_calendar_files(project: Any, run: Any) -> None:
    with_config(project, "    min_gap: 2h\n")
    calendar(
        project,
        "a.yaml",
        "  - id: launch\n    at: 2027-02-01 09:00\n    text: Launch\n    thread: [A reply]\n",
    )
    later = calendar(
        project,
        "b.yaml",
        "  - id: early\n    at: 2027-01-25 09:00\n    text: Fine\n"
        "  - id: tip\n    at: 2027-02-01 10:30\n    text: Tip\n",
    )
    code, found = diagnostics(run, "min-gap")
    assert code == 0
    (warning,) = found
    line = later.read_text().splitlines().index("    at: 2027-02-01 10:30") + 1
    assert (warning["path"], warning["line"], warning["col"]) == ("calendars/b.yaml", line, 9)
    assert warning["severity"] == "warning"
    assert warning["message"] == (
        "post 'tip' is 1h30m after post 'launch' (calendars/a.yaml:6) on account 'feed': "
        "closer than its min_gap of 2h"
    )
    human = run("validate")
    assert (
        human.exit_code == 0 and f"calendars/b.yaml:{line}:9: warning: post 'tip'" in human.output
    )
    assert as_json(run("plan", "--json"))["warnings"] == 1  # plan counts the same finding


def test_min_gap_from_the_defaults_names_recurring_occurrences(project: Any, run: Any) -> None:
    project.config(DEFAULT_CONFIG + "  min_gap: 1h\n")
    calendar(
        project,
        "a.yaml",
        "  - id: weekly\n    at: 2027-02-01 09:00\n    text: Tip\n"
        "    repeat: {every: week, count: 3}\n"
        "  - id: news\n    at: 2027-02-08 09:30\n    text: News\n",
    )
    code, found = diagnostics(run, "min-gap")
    assert code == 0
    (warning,) = found
    assert warning["line"] == 10  # the `at` of news
    assert warning["message"].startswith(
        "post 'news' is 30m after post 'weekly' on 2027-02-08 (calendars/a.yaml:6)"
    )


def test_without_min_gap_close_posts_are_fine(project: Any, run: Any) -> None:
    calendar(
        project,
        "a.yaml",
        "  - id: a\n    at: 2027-02-01 09:00\n    text: A\n"
        "  - id: b\n    at: 2027-02-01 09:01\n    text: B\n",
    )
    assert diagnostics(run, "min-gap") == (0, [])


BLACKOUTS = """blackout:
  - 2027-01-01
  - {from: 2027-03-10, to: 2027-03-12, reason: product recall}
"""


def test_a_dated_post_in_a_blackout_is_an_error(project: Any, run: Any) -> None:
    with_config(project, top=BLACKOUTS)
    calendar(
        project,
        "a.yaml",
        "  - id: before\n    at: 2027-03-09 23:30\n    text: Fine\n"
        "  - id: recall\n    at: 2027-03-12 08:00\n    text: Oops\n",
    )
    code, found = diagnostics(run, "blackout")
    assert code == 1
    (error,) = found
    assert (error["line"], error["col"], error["severity"]) == (9, 9, "error")
    assert "2027-03-10 to 2027-03-12" in error["message"]
    assert "product recall" in error["message"]
    human = run("validate")
    assert human.exit_code == 1 and "product recall" in human.output
    assert run("plan").exit_code == 1


def test_a_blackout_is_a_local_date_of_the_calendar(project: Any, run: Any) -> None:
    with_config(project, top=BLACKOUTS)
    # 2027-01-01 00:30 in Paris is still 2026-12-31 in UTC: inside the blackout
    calendar(project, "a.yaml", "  - id: ny\n    at: 2027-01-01 00:30\n    text: Hi\n")
    code, found = diagnostics(run, "blackout")
    assert code == 1 and len(found) == 1
    assert "blackout 2027-01-01:" in found[0]["message"]


def test_a_draft_in_a_blackout_is_a_warning(project: Any, run: Any) -> None:
    with_config(project, top=BLACKOUTS)
    calendar(
        project, "a.yaml", "  - id: d\n    at: 2027-01-01 10:00\n    text: Hi\n    status: draft\n"
    )
    code, found = diagnostics(run, "blackout")
    assert code == 0 and [d["severity"] for d in found] == ["warning"]


def test_a_weekly_post_skips_a_blackout_week(project: Any, run: Any) -> None:
    with_config(project, top=BLACKOUTS)
    calendar(
        project,
        "a.yaml",
        "  - id: tip\n    at: 2027-03-03 09:30\n    text: [One, Two, Three, Four]\n"
        "    repeat: {every: week, on: [wed, thu], until: 2027-03-18}\n",
    )
    result = run("plan", "--json", "--from", "2027-01-01", "--to", "2027-12-31")
    assert result.exit_code == 0, result.output
    jobs = as_json(result)["jobs"]
    assert [j["key"] for j in jobs] == [
        "a:tip~2027-03-03@feed",
        "a:tip~2027-03-04@feed",
        "a:tip~2027-03-17@feed",  # 10 and 11 March are in the blackout
        "a:tip~2027-03-18@feed",
    ]
    code, found = diagnostics(run, "blackout-skip", "blackout")
    assert code == 0
    (warning,) = found
    assert warning["severity"] == "warning" and warning["line"] == 8  # its repeat:
    assert "2027-03-10, blackout 2027-03-10 to 2027-03-12 (product recall)" in warning["message"]
    assert "2027-03-11" in warning["message"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - 2027-02-30\n", "'blackout[0]': '2027-02-30' is not a date"),
        ("  - tomorrow\n", "'blackout[0]'"),
        (
            "  - {from: 2027-03-12, to: 2027-03-10}\n",
            "'blackout[0].to' (2027-03-10) is before its 'from' (2027-03-12)",
        ),
        ("  - {from: 2027-03-12, until: 2027-03-14}\n", "unknown key 'until' in 'blackout[0]'"),
        ("  - {to: 2027-03-12}\n", "'blackout[0]'"),
    ],
)
def test_a_bad_blackout_is_a_config_error(
    project: Any, run: Any, entry: str, expected: str
) -> None:
    with_config(project, top="blackout:\n" + entry)
    calendar(project, "a.yaml", "  - id: a\n    at: 2027-02-01 09:00\n    text: A\n")
    result = run("validate")
    assert result.exit_code == 2
    assert expected in result.output
    assert "cmctl.yaml:" in result.output
    assert "Traceback" not in result.output


def test_a_past_post_in_a_blackout_is_only_a_warning(project: Any, run: Any) -> None:
    # A blackout declared after the post went out must not hold its calendar for good.
    with_config(project, top="blackout:\n  - 2026-11-02\n")
    calendar(project, "a.yaml", "  - id: old\n    at: 2026-11-02 10:00\n    text: Hi\n")
    code, found = diagnostics(run, "blackout")
    assert code == 0 and [d["severity"] for d in found] == ["warning"]


def test_a_blackout_added_later_cancels_the_occurrence_and_nothing_goes_out(
    project: Any, run: Any, now: Any
) -> None:
    from tests.test_publish import publish

    body = (
        "  - id: tip\n    at: 2026-12-07 09:30\n    text: Tip\n"
        "    repeat: {every: week, count: 3}\n"
    )
    calendar(project, "a.yaml", body)
    now.move_to("2026-12-01T08:00:00Z")
    assert publish(run)[0] == 0  # nothing due: the ledger learns the plan
    with_config(project, top="blackout:\n  - {from: 2026-12-14, reason: crisis}\n")
    assert publish(run)[0] == 0
    log = as_json(run("log", "--events", "--json"))["entries"]
    assert {e["key"] for e in log if e["event"].startswith("cancelled")} == {
        "a:tip~2026-12-14@feed"
    }
    now.move_to("2026-12-07T08:31:00Z")
    assert [o["key"] for o in publish(run)[1]["outcomes"]] == ["a:tip~2026-12-07@feed"]
    now.move_to("2026-12-14T08:31:00Z")
    code, data = publish(run)
    assert code == 0 and data["outcomes"] == [], data
    now.move_to("2026-12-21T08:31:00Z")
    assert [o["key"] for o in publish(run)[1]["outcomes"]] == ["a:tip~2026-12-21@feed"]
