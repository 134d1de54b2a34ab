"""Queues (`queue:` instead of `at:`): slots, placement, and the real CLI around them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from cmctl.queues import (
    Placed,
    Queue,
    Remembered,
    SlotProblem,
    Unplaced,
    Waiting,
    parse_slot,
    place,
)
from tests.conftest import DEFAULT_CONFIG, WEEKDAY_QUEUE, as_json
from tests.test_publish import feed_ids, publish

PARIS = "Europe/Paris"
# DEFAULT_NOW is Friday 2026-11-20 12:00 UTC (13:00 in Paris).
MON = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 Paris


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- slots
@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("mon-fri 09:00", {0, 1, 2, 3, 4}, time(9, 0)),
        ("sat,sun 10:30", {5, 6}, time(10, 30)),
        ("daily 08:00", set(range(7)), time(8, 0)),
        ("12:30", set(range(7)), time(12, 30)),
        ("fri-mon 7:05", {4, 5, 6, 0}, time(7, 5)),
        ("Tuesday 18:00", {1}, time(18, 0)),
    ],
)
def test_slot_strings(text: str, days: set[int], at: time) -> None:
    slot = parse_slot(text)
    assert (set(slot.days), slot.at) == (days, at)


@pytest.mark.parametrize("text", ["funday 09:00", "mon 25:00", "mon 09:60", "9am", "", "mon-"])
def test_bad_slot_strings_are_refused(text: str) -> None:
    with pytest.raises(SlotProblem):
        parse_slot(text)


def test_slots_keep_their_wall_time_across_dst_and_a_gap_moves_after_it() -> None:
    queue = Queue("q", PARIS, (parse_slot("mon 09:00"), parse_slot("sun 02:30")))
    start = datetime(2027, 3, 22, tzinfo=UTC)
    times = list(queue.times(start, start + timedelta(days=8)))
    assert times == [
        utc("2027-03-22 08:00"),  # Monday 09:00 CET
        utc("2027-03-28 01:00"),  # Sunday 02:30 is in the gap: 03:00 CEST
        utc("2027-03-29 07:00"),  # Monday 09:00 CEST
    ]


def test_a_slot_in_an_overlap_is_its_first_instant() -> None:
    queue = Queue("q", "America/New_York", (parse_slot("sun 01:30"),))
    start = datetime(2027, 11, 6, tzinfo=UTC)
    assert list(queue.times(start, start + timedelta(days=2))) == [utc("2027-11-07 05:30")]


# ---------------------------------------------------------------------------- placement
WEEKDAYS = Queue("weekdays", PARIS, (parse_slot("mon-fri 09:00"), parse_slot("mon-fri 12:30")))
NOW = utc("2026-11-20 12:00")  # Friday, 13:00 in Paris: today's slots have passed


def waiting(
    *ids: str, accounts: tuple[str, ...] = ("a",), after: date | None = None
) -> list[Waiting]:
    return [Waiting("cal", i, "weekdays", accounts, after) for i in ids]


def times(placed: dict[tuple[str, str], Placed | Unplaced]) -> dict[str, datetime]:
    return {k[1]: v.at for k, v in placed.items() if isinstance(v, Placed)}


def test_posts_fill_the_next_free_slots_in_order() -> None:
    got = times(place(waiting("p1", "p2", "p3"), {"weekdays": WEEKDAYS}, {}, NOW))
    assert got == {
        "p1": MON,
        "p2": MON + timedelta(hours=3, minutes=30),
        "p3": MON + timedelta(days=1),
    }


def test_a_slot_holds_one_post_per_account() -> None:
    posts = [
        *waiting("a1"),
        *waiting("b1", accounts=("b",)),
        *waiting("both", accounts=("a", "b")),
    ]
    got = times(place(posts, {"weekdays": WEEKDAYS}, {}, NOW))
    assert got["a1"] == got["b1"] == MON
    assert got["both"] == MON + timedelta(hours=3, minutes=30)  # the first free for both


def test_after_is_the_first_day_a_post_may_take() -> None:
    posts = waiting("late", after=date(2026, 11, 26)) + waiting("early")
    got = times(place(posts, {"weekdays": WEEKDAYS}, {}, NOW))
    assert got == {"late": utc("2026-11-26 08:00"), "early": MON}


def test_a_post_inserted_before_others_moves_them_later_and_says_from_where() -> None:
    before = times(place(waiting("p1", "p2"), {"weekdays": WEEKDAYS}, {}, NOW))
    ledger = {f"cal:{k}@a": Remembered("pending", v) for k, v in before.items()}
    after = place(waiting("new", "p1", "p2"), {"weekdays": WEEKDAYS}, ledger, NOW)
    assert after[("cal", "new")] == Placed(before["p1"], None, False)
    assert after[("cal", "p1")] == Placed(before["p2"], before["p1"], False)
    assert after[("cal", "p2")] == Placed(MON + timedelta(days=1), before["p2"], False)


def test_published_posts_keep_their_time_and_their_slot() -> None:
    ledger = {"cal:p1@a": Remembered("published", MON)}
    got = place(waiting("new", "p1"), {"weekdays": WEEKDAYS}, ledger, NOW)
    assert got[("cal", "p1")] == Placed(MON, None, True)
    assert got[("cal", "new")] == Placed(MON + timedelta(hours=3, minutes=30), None, False)


def test_a_post_whose_slot_has_come_is_due_now_never_pushed_later() -> None:
    now = MON + timedelta(minutes=5)  # p1's slot came five minutes ago, not sent yet
    ledger = {"cal:p1@a": Remembered("pending", MON)}
    got = place(waiting("new", "p1"), {"weekdays": WEEKDAYS}, ledger, now)
    assert got[("cal", "p1")] == Placed(MON, None, True)
    assert times(got)["new"] == MON + timedelta(hours=3, minutes=30)


def test_a_skipped_post_does_not_hold_its_old_slot() -> None:
    ledger = {"cal:p1@a": Remembered("skipped", utc("2026-11-19 08:00"))}
    assert times(place(waiting("p1"), {"weekdays": WEEKDAYS}, ledger, NOW)) == {"p1": MON}


def test_blackout_days_and_min_gap_are_skipped_and_a_dated_post_fills_its_minute() -> None:
    monday = MON.date()
    got = times(
        place(
            waiting("p1", "p2"),
            {"weekdays": WEEKDAYS},
            {},
            NOW,
            others={"a": [utc("2026-11-24 08:00"), utc("2026-11-25 12:00")]},
            blackout=lambda day: "recall" if day == monday else None,
            min_gap=lambda account: timedelta(hours=2),
        )
    )
    # Monday is a blackout; Tuesday 09:00 holds a dated post; Tuesday 12:30 is free
    # (3.5 h from it); Wednesday 09:00 is 3 h before the dated post of 13:00 Paris
    assert got == {"p1": utc("2026-11-24 11:30"), "p2": utc("2026-11-25 08:00")}


def test_min_gap_pushes_past_a_close_dated_post() -> None:
    got = times(
        place(
            waiting("p1"),
            {"weekdays": WEEKDAYS},
            {},
            NOW,
            others={"a": [MON + timedelta(hours=1)]},
            min_gap=lambda account: timedelta(hours=2),
        )
    )
    assert got == {"p1": MON + timedelta(hours=3, minutes=30)}


def test_a_full_queue_says_so() -> None:
    monday_only = Queue("weekdays", PARIS, (parse_slot("mon 09:00"),))
    got = place(waiting("p1", "p2"), {"weekdays": monday_only}, {}, NOW, horizon=timedelta(days=5))
    assert times(got) == {"p1": MON}
    problem = got[("cal", "p2")]
    assert isinstance(problem, Unplaced) and "no free slot" in problem.reason


# ---------------------------------------------------------------------------- CLI


def qpost(id: str, text: str = "Queued", queue: str = "weekdays", **extra: Any) -> str:
    lines = [f"  - id: {id}", f"    queue: {queue}", f"    text: {json.dumps(text)}"]
    lines += [f"    {key}: {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def cal(*posts: str) -> str:
    return "timezone: Europe/Paris\nposts:\n" + "".join(posts)


@pytest.fixture
def queued(project: Any) -> Any:
    project.config(DEFAULT_CONFIG + WEEKDAY_QUEUE)
    return project


def plan(run: Any) -> dict[str, dict[str, Any]]:
    result = run("plan", "--json")
    assert result.exit_code == 0, result.output
    return {j["key"]: j for j in as_json(result)["jobs"]}


def test_plan_places_queued_posts_and_shows_moves(queued: Any, run: Any) -> None:
    queued.calendar(cal(qpost("p1"), qpost("p2")))
    jobs = plan(run)
    assert [(k, j["queue"], j["slot"], j["moved_from"]) for k, j in jobs.items()] == [
        ("dec:p1@feed", "weekdays", "2026-11-23T09:00:00+01:00", None),
        ("dec:p2@feed", "weekdays", "2026-11-23T12:30:00+01:00", None),
    ]
    assert publish(run)[0] == 0  # nothing due; the ledger learns the slots
    queued.calendar(cal(qpost("first"), qpost("p1"), qpost("p2")))
    jobs = plan(run)
    assert jobs["dec:first@feed"]["slot"] == "2026-11-23T09:00:00+01:00"
    assert jobs["dec:p1@feed"]["slot"] == "2026-11-23T12:30:00+01:00"
    assert jobs["dec:p1@feed"]["moved_from"] == "2026-11-23T09:00:00+01:00"
    assert jobs["dec:p2@feed"]["moved_from"] == "2026-11-23T12:30:00+01:00"
    text = run("plan").stdout
    assert "queue weekdays, moved from Mon 2026-11-23 09:00" in text
    assert "queue weekdays, moved from Mon 2026-11-23 12:30" in text


def test_a_published_queued_post_keeps_its_time_when_one_is_inserted_before(
    queued: Any, run: Any, now: Any
) -> None:
    queued.calendar(cal(qpost("p1", "One"), qpost("p2", "Two")))
    assert publish(run)[0] == 0
    now.move_to(MON + timedelta(minutes=1))
    assert publish(run)[0] == 0
    assert feed_ids(queued) == ["urn:cmctl:dec:p1@feed"]
    queued.calendar(cal(qpost("first", "Zero"), qpost("p1", "One"), qpost("p2", "Two")))
    jobs = plan(run)
    assert jobs["dec:p1@feed"]["state"] == "published"
    assert jobs["dec:p1@feed"]["slot"] == "2026-11-23T09:00:00+01:00"
    assert jobs["dec:first@feed"]["slot"] == "2026-11-23T12:30:00+01:00"  # p2's slot
    assert jobs["dec:p2@feed"]["slot"] == "2026-11-24T09:00:00+01:00"
    assert publish(run)[0] == 0  # cron's next run records the new slots
    now.move_to(MON + timedelta(hours=3, minutes=31))
    assert publish(run)[0] == 0
    assert sorted(feed_ids(queued)) == ["urn:cmctl:dec:first@feed", "urn:cmctl:dec:p1@feed"]


def test_a_post_whose_slot_has_come_goes_out_even_if_one_is_inserted_before(
    queued: Any, run: Any, now: Any
) -> None:
    queued.calendar(cal(qpost("p1", "One")))
    assert publish(run)[0] == 0  # synced for Monday 09:00
    now.move_to(MON + timedelta(minutes=10))  # nobody published at 09:00
    queued.calendar(cal(qpost("first", "Zero"), qpost("p1", "One")))
    jobs = plan(run)
    assert jobs["dec:p1@feed"]["slot"] == "2026-11-23T09:00:00+01:00"  # due now
    assert jobs["dec:first@feed"]["slot"] == "2026-11-23T12:30:00+01:00"
    code, out = publish(run)
    assert code == 0
    assert [(o["key"], o["state"]) for o in out["outcomes"]] == [("dec:p1@feed", "published")]


def test_post_accounts_override_the_queue_s(queued: Any, run: Any) -> None:
    queued.calendar(cal(qpost("p1", accounts=["masto"], text="Hi")))
    assert list(plan(run)) == ["dec:p1@masto"]


def test_queue_lists_filled_and_free_slots(queued: Any, run: Any) -> None:
    queued.calendar(cal(qpost("p1"), qpost("p2")))
    result = run("queue", "weekdays", "--days", "4", "--json")
    assert result.exit_code == 0, result.output
    slots = as_json(result)
    assert [(s["time"], s["account"], s["post"]) for s in slots] == [
        ("2026-11-23T09:00:00+01:00", "feed", "p1"),
        ("2026-11-23T12:30:00+01:00", "feed", "p2"),
        ("2026-11-24T09:00:00+01:00", "feed", None),
        ("2026-11-24T12:30:00+01:00", "feed", None),
    ]
    text = run("queue", "--days", "4").stdout
    assert "free" in text and "dec:p1" in text and "2 free" in text
    missing = run("queue", "nope")
    assert missing.exit_code == 2 and "weekdays" in missing.output


@pytest.mark.parametrize(
    ("post", "message"),
    [
        (qpost("p", queue="weekdys"), "unknown queue 'weekdys' (did you mean 'weekdays'?)"),
        ("  - id: p\n    text: Hi\n", "missing required key 'at' (or 'queue')"),
        ("  - id: p\n    at: 2026-12-01 09:00\n    queue: weekdays\n    text: Hi\n", "not both"),
        (qpost("p", repeat={"every": "week"}), "both 'repeat:' and 'queue:'"),
        ("  - id: p\n    at: 2026-12-01 09:00\n    after: 2026-12-01\n    text: Hi\n", "'after:'"),
        (qpost("p", after="soon"), "'soon' is not a date"),
    ],
)
def test_bad_queued_posts_are_errors_where_written(
    queued: Any, run: Any, post: str, message: str
) -> None:
    queued.calendar(cal(post))
    result = run("validate")
    assert result.exit_code == 1
    assert message in result.output
    assert "calendars/dec.yaml:" in result.output


def test_an_unknown_queue_is_reported_at_its_queue_key(queued: Any, run: Any) -> None:
    queued.calendar(cal(qpost("p", queue="weekdys")))
    diagnostics = as_json(run("validate", "--format", "json"))["diagnostics"]
    assert [(d["line"], d["col"], d["rule"]) for d in diagnostics] == [(4, 12, "unknown-queue")]


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ('  q:\n    slots: ["someday 09:00"]\n', "'someday' is not a day"),
        ('  q:\n    slots: ["mon 9am"]\n', "is not days and a time"),
        ('  q:\n    timezone: Mars/Olympus\n    slots: ["mon 09:00"]\n', "unknown time zone"),
        ('  q:\n    slots: ["mon 09:00"]\n    accounts: [nobody]\n', "unknown account 'nobody'"),
        ("  q:\n    accounts: [feed]\n", "missing required key 'slots'"),
    ],
)
def test_bad_queues_are_config_errors(project: Any, run: Any, queues: str, message: str) -> None:
    project.config(DEFAULT_CONFIG + "queues:\n" + queues)
    project.calendar(cal(qpost("p")))
    result = run("validate")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_full_queue_is_an_error_and_the_post_stays_out_of_the_plan(
    project: Any, run: Any
) -> None:
    project.config(
        DEFAULT_CONFIG + 'queues:\n  rare:\n    slots: ["mon 09:00"]\n    accounts: [feed]\n'
    )
    posts = "".join(
        f"  - id: p{i}\n    queue: rare\n    after: 2028-11-01\n    text: Post {i}\n"
        for i in range(110)
    )
    project.calendar(cal(posts))
    result = run("validate", "--format", "json")
    assert result.exit_code == 1
    full = [d for d in as_json(result)["diagnostics"] if d["rule"] == "queue-full"]
    assert full and "no free slot" in full[0]["message"]
    planned = as_json(run("plan", "--json"))["jobs"]
    assert len(planned) == 110 - len(full)


def test_queue_placement_skips_blackouts_and_keeps_min_gap(project: Any, run: Any) -> None:
    config = DEFAULT_CONFIG.replace(
        "defaults:\n  timezone: Europe/Paris", "defaults:\n  timezone: Europe/Paris\n  min_gap: 4h"
    )
    project.config(
        config
        + WEEKDAY_QUEUE
        + "blackout:\n  - {from: 2026-11-23, to: 2026-11-23, reason: recall}\n"
    )
    project.calendar(cal(qpost("p1"), qpost("p2")))
    jobs = plan(run)
    # Monday is blacked out; Tuesday 12:30 is 3h30 after p1, closer than min_gap
    assert jobs["dec:p1@feed"]["slot"] == "2026-11-24T09:00:00+01:00"
    assert jobs["dec:p2@feed"]["slot"] == "2026-11-25T09:00:00+01:00"
    assert run("validate").exit_code == 0
