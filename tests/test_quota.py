"""Posting quotas: the sliding window (cmctl.quota), the sender's wait, and the `quota` rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmctl.networks import registry
from cmctl.quota import Quota, over, quota_wait, window
from tests.conftest import as_json, calendar, post

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def every(minutes: float, n: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(minutes=minutes * i) for i in range(n)]


# --- the window -----------------------------------------------------------------------


def test_a_plan_within_the_quota_is_not_over() -> None:
    assert over(Quota(17, DAY), every(30, 17)) is None
    assert over(Quota(17, DAY), []) is None


def test_the_first_post_over_the_quota_and_how_many_are() -> None:
    found = over(Quota(17, DAY), every(30, 20))
    assert found is not None
    assert (found.index, found.since, found.total) == (17, T0, 3)


def test_the_window_is_rolling_and_half_open() -> None:
    # 17 posts, then one exactly 24 h after the first: the first left the window.
    times = [*every(1, 17), T0 + DAY]
    assert over(Quota(17, DAY), times) is None
    # One second earlier it still shares the window with the first.
    times[-1] = T0 + DAY - timedelta(seconds=1)
    found = over(Quota(17, DAY), times)
    assert found is not None and (found.index, found.since) == (17, T0)


def test_a_window_anywhere_in_the_plan_is_found() -> None:
    # Spread out for a month, then a burst on one evening.
    quiet = every(24 * 60, 30)
    burst = every(5, 4, start=T0 + timedelta(days=40))
    found = over(Quota(3, timedelta(hours=1)), [*quiet, *burst])
    assert found is not None
    assert (found.index, found.since, found.total) == (33, burst[0], 1)


def test_one_pass_over_a_hundred_thousand_times() -> None:
    times = every(1, 100_000)  # one a minute: 1,440 a day
    found = over(Quota(1000, DAY), times)
    assert found is not None
    assert found.index == 1000 and found.since == T0
    assert found.total == 100_000 - 1000  # every window from then on holds 1,440


def test_thread_parts_count_against_the_quota_they_belong_to() -> None:
    roots, replies = Quota(250, DAY, counts="roots"), Quota(1000, DAY, counts="replies")
    assert roots.applies_to(0) and not roots.applies_to(1)
    assert replies.applies_to(2) and not replies.applies_to(0)
    assert Quota(300, timedelta(hours=3)).applies_to(0) and Quota(1, DAY).applies_to(5)


def test_a_quota_is_described_the_way_people_say_it() -> None:
    assert Quota(17, DAY, note="free plan").describe("X") == (
        "X allows 17 posts per 24 h (free plan)"
    )
    assert Quota(1000, DAY, counts="replies").describe("Threads") == (
        "Threads allows 1000 thread replies per 24 h"
    )
    assert [window(timedelta(seconds=s)) for s in (30, 900, 10800, 86400, 7 * 86400)] == [
        "30 s",
        "15 min",
        "3 h",
        "24 h",
        "7 d",
    ]


def test_a_quota_needs_posts_and_a_window() -> None:
    with pytest.raises(ValueError):
        Quota(0, DAY)
    with pytest.raises(ValueError):
        Quota(10, timedelta(0))


# --- the sender's wait ----------------------------------------------------------------


def sent(times: list[datetime], part: int = 0) -> list[tuple[datetime, int]]:
    return [(at, part) for at in times]


def test_no_wait_while_the_window_has_room() -> None:
    now = T0 + timedelta(hours=10)
    assert quota_wait([Quota(17, DAY)], sent(every(30, 16)), now) is None
    assert quota_wait([], sent(every(1, 1000)), now) is None


def test_wait_until_the_oldest_post_of_the_window_leaves_it() -> None:
    now = T0 + timedelta(hours=10)
    # 17 sent from 08:00, every 30 min: the next fits when the 08:00 one is 24 h old.
    assert quota_wait([Quota(17, DAY)], sent(every(30, 17)), now) == 14 * 3600


def test_wait_for_as_many_as_are_over() -> None:
    now = T0 + timedelta(minutes=10)
    # 5 sent (a quota lowered, or sent by hand): room for one more once 3 have left.
    times = every(1, 5)
    assert (
        quota_wait([Quota(3, timedelta(hours=1))], sent(times), now)
        == ((times[2] + timedelta(hours=1)) - now).total_seconds()
    )


def test_posts_older_than_the_window_do_not_count() -> None:
    now = T0 + 2 * DAY
    assert quota_wait([Quota(17, DAY)], sent(every(1, 100)), now) is None


def test_the_longest_wait_of_every_quota() -> None:
    now = T0 + timedelta(minutes=20)
    quotas = [Quota(300, timedelta(hours=3)), Quota(10, timedelta(minutes=30))]
    times = every(2, 10)  # 08:00 .. 08:18: the 30-min window is full until 08:30
    assert quota_wait(quotas, sent(times), now) == 600.0
    # Exactly 30 min after the first, it has left the window: room again.
    assert quota_wait(quotas, sent(times), T0 + timedelta(minutes=30)) is None


def test_a_reply_waits_only_for_the_reply_quota() -> None:
    quotas = [Quota(2, DAY, counts="roots"), Quota(3, DAY, counts="replies")]
    now = T0 + timedelta(hours=1)
    history = [*sent(every(1, 2), part=0), *sent(every(1, 2, start=T0), part=1)]
    assert quota_wait(quotas, history, now, part=0) == (DAY - timedelta(hours=1)).total_seconds()
    assert quota_wait(quotas, history, now, part=1) is None


# --- the declarations -------------------------------------------------------------------


def test_the_documented_quotas_are_declared() -> None:
    def figures(name: str) -> set[tuple[int, timedelta, str]]:
        return {(q.posts, q.per, q.counts) for q in registry.get(name).quotas}

    assert figures("x") == {(17, DAY, "posts")}
    assert figures("mastodon") == {(300, timedelta(hours=3), "posts")}
    assert figures("threads") == {(250, DAY, "roots"), (1000, DAY, "replies")}
    assert (50, DAY, "posts") in figures("instagram")
    assert figures("feed") == set() and figures("webhook") == set()


# --- the `quota` rule ----------------------------------------------------------------------


def day_of(n: int, account: str = "xacct", every_minutes: int = 30, **fields: str) -> str:
    posts = [
        post(
            f"p{i}",
            at=f"2027-03-01 {8 + (i * every_minutes) // 60:02d}:{(i * every_minutes) % 60:02d}",
            **fields,
        )
        for i in range(n)
    ]
    return calendar(*posts, accounts=f"[{account}]")


def quota_warnings(run: Any) -> list[dict[str, Any]]:
    result = run("validate", "--format", "json")
    assert result.exit_code == 0, result.output
    return [d for d in as_json(result)["diagnostics"] if d["rule"] == "quota"]


def test_validate_warns_at_the_first_post_over_a_quota(project: Any, run: Any) -> None:
    path = project.calendar(day_of(20))
    (found,) = quota_warnings(run)
    lines = path.read_text().splitlines()
    assert lines[found["line"] - 1].strip() == "- id: p17"  # the 18th post
    assert found["severity"] == "warning"
    assert found["message"] == (
        "post 'p17' is post 18 of account 'xacct' within 24 h (from 2027-03-01 08:00 CET): "
        "X allows 17 posts per 24 h (free plan); 2 later posts too"
    )
    human = run("validate")
    assert human.exit_code == 0 and "[quota]" in human.output


def test_no_warning_at_the_quota_itself(project: Any, run: Any) -> None:
    project.calendar(day_of(17))
    assert quota_warnings(run) == []


def test_drafts_do_not_count_against_a_quota(project: Any, run: Any) -> None:
    project.calendar(day_of(20, status="draft"))
    assert quota_warnings(run) == []


def test_each_account_has_its_own_quota(project: Any, run: Any) -> None:
    project.calendar(day_of(10), name="a.yaml")
    project.calendar(day_of(10).replace("id: p", "id: q"), name="b.yaml")
    (found,) = quota_warnings(run)  # 20 posts of xacct, across two files
    assert "post 18 of account 'xacct'" in found["message"]


def test_a_network_without_quotas_never_warns(project: Any, run: Any) -> None:
    project.calendar(day_of(40, account="feed", every_minutes=1))
    assert quota_warnings(run) == []


def test_plan_counts_the_quota_warning(project: Any, run: Any) -> None:
    project.calendar(day_of(18))
    result = run("plan", "--json")
    assert result.exit_code == 0
    assert as_json(result)["warnings"] == 1
