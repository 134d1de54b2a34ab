"""Adversarial edges of queues, spacing/blackouts and link tagging, through the real CLI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import DEFAULT_CONFIG, WEEKDAY_QUEUE, as_json
from tests.test_publish import feed_ids, publish
from tests.test_queues import MON, cal, plan, qpost


@pytest.fixture
def queued(project: Any) -> Any:
    project.config(DEFAULT_CONFIG + WEEKDAY_QUEUE)
    return project


def cron(run: Any, now: Any, start: Any, hours: int, step: int = 30) -> None:
    """cmctl publish every ``step`` minutes for ``hours`` hours from ``start``."""
    for minutes in range(0, hours * 60, step):
        now.move_to(start + timedelta(minutes=minutes))
        assert publish(run)[0] == 0


# ---------------------------------------------------------------------------- drafts
def test_a_draft_ahead_in_the_queue_never_starves_the_posts_behind_it(
    queued: Any, run: Any, now: Any
) -> None:
    # A draft took the first slot; each time that slot came it jumped to the next one,
    # ahead of the approved post, which never went out (and nothing said so).
    queued.calendar(cal(qpost("d", "Draft", status="draft"), qpost("p1", "One")))
    cron(run, now, MON - timedelta(hours=1), 6)
    assert feed_ids(queued) == ["urn:cmctl:dec:p1@feed"]


def test_a_draft_takes_the_slots_left_and_approving_it_inserts_it_where_written(
    queued: Any, run: Any
) -> None:
    queued.calendar(cal(qpost("d", "Draft", status="draft"), qpost("p1"), qpost("p2")))
    jobs = {j["key"]: j for j in as_json(run("plan", "--json", "--drafts"))["jobs"]}
    assert jobs["dec:p1@feed"]["slot"] == "2026-11-23T09:00:00+01:00"
    assert jobs["dec:p2@feed"]["slot"] == "2026-11-23T12:30:00+01:00"
    assert jobs["dec:d@feed"]["slot"] == "2026-11-24T09:00:00+01:00"
    assert publish(run)[0] == 0
    queued.calendar(cal(qpost("d", "Draft"), qpost("p1"), qpost("p2")))  # approved
    jobs = plan(run)
    assert jobs["dec:d@feed"]["slot"] == "2026-11-23T09:00:00+01:00"
    assert jobs["dec:p1@feed"]["moved_from"] == "2026-11-23T09:00:00+01:00"
    assert jobs["dec:p2@feed"]["slot"] == "2026-11-24T09:00:00+01:00"


# ---------------------------------------------------------------------------- blackouts
def test_a_blackout_added_after_sync_moves_a_queued_post_even_once_its_slot_came(
    queued: Any, run: Any, now: Any
) -> None:
    queued.calendar(cal(qpost("p1")))
    assert publish(run)[0] == 0  # synced for Monday 09:00
    queued.config(DEFAULT_CONFIG + WEEKDAY_QUEUE + "blackout:\n  - 2026-11-23\n")
    now.move_to(MON + timedelta(minutes=5))  # cron was late: the slot has come
    code, out = publish(run)
    assert code == 0 and out["outcomes"] == [] and feed_ids(queued) == []
    assert plan(run)["dec:p1@feed"]["slot"] == "2026-11-24T09:00:00+01:00"
    cron(run, now, MON + timedelta(minutes=10), 26)
    assert feed_ids(queued) == ["urn:cmctl:dec:p1@feed"]


def test_a_cancelled_queued_post_never_starves_the_posts_behind_it(
    queued: Any, run: Any, now: Any
) -> None:
    queued.calendar(cal(qpost("p1", "One"), qpost("p2", "Two")))
    assert publish(run)[0] == 0
    assert run("cancel", "dec:p1").exit_code == 0
    cron(run, now, MON - timedelta(hours=1), 30)
    assert feed_ids(queued) == ["urn:cmctl:dec:p2@feed"]


# ---------------------------------------------------------------------------- identities
@pytest.mark.parametrize("renamed", ["calendar", "post id"])
def test_a_sent_queued_post_under_a_new_identity_is_never_sent_again(
    queued: Any, run: Any, now: Any, renamed: str
) -> None:
    # The twin guard matched on the time too; a queued post's new identity has no
    # memory and takes the next free slot: another time, and it went out twice.
    queued.calendar(cal(qpost("p1", "One"), qpost("p2", "Two")))
    cron(run, now, MON - timedelta(minutes=30), 1)  # p1 out at Monday 09:00
    assert feed_ids(queued) == ["urn:cmctl:dec:p1@feed"]
    if renamed == "calendar":
        queued.calendar("calendar: renamed\n" + cal(qpost("p1", "One"), qpost("p2", "Two")))
    else:
        queued.calendar(cal(qpost("p1-new", "One"), qpost("p2", "Two")))
    now.move_to(MON + timedelta(minutes=30))
    result = run("validate")
    assert "will not be sent again" in result.output
    for minutes in range(0, 30 * 60, 30):
        now.move_to(MON + timedelta(minutes=30 + minutes))
        publish(run)
    assert sorted(feed_ids(queued)).count("urn:cmctl:dec:p1@feed") == 1
    assert not [i for i in feed_ids(queued) if i.endswith(("renamed:p1@feed", "p1-new@feed"))]


def test_a_dated_post_due_on_a_blackout_declared_late_is_held_then_missed(
    project: Any, run: Any, now: Any
) -> None:
    # Validate only warns about a post whose time has gone by; cron was late, and the
    # post went out on the blackout day.
    project.config(DEFAULT_CONFIG)
    project.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: d\n    at: 2026-11-23 09:00\n"
        "    accounts: [feed]\n    text: Hi\n"
    )
    assert publish(run)[0] == 0
    project.config(
        DEFAULT_CONFIG + "blackout:\n  - {from: 2026-11-23, to: 2026-11-23, reason: recall}\n"
    )
    now.move_to(MON + timedelta(minutes=5))
    _code, out = publish(run)
    assert [(o["key"], o["state"]) for o in out["outcomes"]] == [("dec:d@feed", "held")]
    assert "recall" in out["outcomes"][0]["message"]
    now.move_to(MON + timedelta(hours=3))
    publish(run)
    assert feed_ids(project) == []
    states = {j["key"]: j["state"] for j in as_json(run("plan", "--json"))["jobs"]}
    assert states == {"dec:d@feed": "missed"}


def test_the_queue_view_shows_the_post_that_takes_a_slot_not_a_draft_at_its_minute(
    queued: Any, run: Any
) -> None:
    # A dated draft does not fill a slot (placement puts a queued post there); the view
    # named whichever of the two came last in plan order.
    queued.calendar(cal(qpost("p1")), name="c.yaml")
    queued.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: d\n    at: 2026-11-23 09:00\n"
        "    status: draft\n    accounts: [feed]\n    text: Draft\n",
        name="z.yaml",  # after c.yaml in plan order
    )
    slots = as_json(run("queue", "--days", "4", "--json"))
    first = slots[0]
    assert (first["time"], first["calendar"], first["post"]) == (
        "2026-11-23T09:00:00+01:00",
        "c",
        "p1",
    )


# ---------------------------------------------------------------------------- schedule: network
WP_QUEUE = """
queues:
  blog:
    timezone: Europe/Paris
    slots: ["mon-fri 10:00"]
    accounts: [wp]
"""


def test_a_queued_post_handed_to_the_network_moves_there_for_a_late_blackout(
    project: Any, run: Any, fake_wordpress: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.wordpress import APP_PASSWORD
    from tests.test_schedule_network import network_at, wp_config

    monkeypatch.setenv("WP_APP_PASSWORD", APP_PASSWORD)
    project.config(wp_config(fake_wordpress) + WP_QUEUE)
    project.calendar(cal(qpost("launch", "Our launch.", queue="blog", title="Launch")))
    assert publish(run)[0] == 0  # handed over for Monday 10:00
    assert network_at(project, "dec:launch@wp") == "2026-11-23T09:00:00.000000Z"
    # One inserted before it does not move what the network holds...
    project.calendar(
        cal(
            qpost("first", "First.", queue="blog", title="F"),
            qpost("launch", "Our launch.", queue="blog", title="Launch"),
        )
    )
    assert plan(run)["dec:launch@wp"]["slot"] == "2026-11-23T10:00:00+01:00"
    # ...but a blackout on its day does: the network must not publish it then.
    project.config(wp_config(fake_wordpress) + WP_QUEUE + "blackout:\n  - 2026-11-23\n")
    assert plan(run)["dec:launch@wp"]["slot"] != "2026-11-23T10:00:00+01:00"
    publish(run)
    assert network_at(project, "dec:launch@wp") != "2026-11-23T09:00:00.000000Z"


# ---------------------------------------------------------------------------- extremes
def test_a_queued_post_never_lands_past_the_last_year_cmctl_handles(project: Any, run: Any) -> None:
    # after: 2199-12-31 (a Wednesday) with Monday slots was placed in 2200.
    project.config(
        DEFAULT_CONFIG + 'queues:\n  q:\n    slots: ["mon 09:00"]\n    accounts: [feed]\n'
    )
    project.calendar(cal(qpost("p1", queue="q", after="2199-12-31")))
    result = run("validate", "--format", "json")
    assert result.exit_code == 1
    [found] = [d for d in as_json(result)["diagnostics"] if d["rule"] == "queue-full"]
    assert "2199" in found["message"]
    assert as_json(run("plan", "--json"))["jobs"] == []
