"""Reconciliation as a pure function: ledger rows + compiled jobs → changes. No SQLite."""

from __future__ import annotations

from typing import Any

from cmctl.ledger.reconcile import Known, Planned, reconcile

T = "2026-12-01T08:30:00.000000Z"
T2 = "2026-12-01T09:30:00.000000Z"


def job(
    part: int = 0,
    digest: str = "h0",
    *,
    post: str = "p",
    cal: str = "c",
    at: str = T,
    draft: bool = False,
    network: str = "feed",
) -> Planned:
    key = f"{cal}:{post}@a" + (f"#{part}" if part else "")
    return Planned(key, cal, post, "a", part, network, digest, at, 3600, draft)


def row(
    part: int = 0,
    digest: str = "h0",
    state: str = "pending",
    *,
    post: str = "p",
    cal: str = "c",
    at: str = T,
    **extra: Any,
) -> Known:
    key = f"{cal}:{post}@a" + (f"#{part}" if part else "")
    sent = digest if state == "published" else None
    return Known(key, cal, post, "a", part, "feed", state, digest, sent, at, 3600, **extra)


def changes(result: Any) -> dict[str, dict[str, Any]]:
    return {c.key: c.values for c in result.updates}


def test_a_new_job_is_pending_a_draft_skipped() -> None:
    result = reconcile([], [job(), job(post="d", draft=True)], present={"c"})
    assert [(j.key, v["state"]) for j, v, _ in result.inserts] == [
        ("c:p@a", "pending"),
        ("c:d@a", "skipped"),
    ]


def test_published_never_reopens_only_its_content_hash_follows() -> None:
    result = reconcile([row(state="published")], [job(digest="h1", at=T2)], present={"c"})
    assert changes(result) == {"c:p@a": {"content_hash": "h1"}}


def test_a_human_decision_is_final() -> None:
    skipped = row(state="skipped", decided_by="human")
    result = reconcile([skipped], [job(digest="h1", at=T2)], present={"c"})
    assert changes(result) == {"c:p@a": {"content_hash": "h1"}}
    # ...and so are its consequences (later parts of a thread)
    via = row(part=1, state="skipped", decided_by="human via c:p@a")
    assert reconcile([via], [job(part=1)], present={"c"}).updates == []
    # a human's "send it" (pending) ends with its post: removed from the calendar
    chosen = row(state="pending", decided_by="human")
    assert changes(reconcile([chosen], [], present={"c"}))["c:p@a"]["state"] == "skipped"


def test_skipped_by_plan_is_restored_unless_it_may_be_online() -> None:
    restored = reconcile([row(state="skipped")], [job()], present={"c"})
    assert changes(restored)["c:p@a"]["state"] == "pending"
    maybe = row(state="skipped", maybe_sent_at=T)
    assert reconcile([maybe], [job()], present={"c"}).updates == []


def test_removed_jobs_cancelled_maybe_sent_become_unknown() -> None:
    result = reconcile(
        [row(post="gone"), row(post="maybe", maybe_sent_at=T)], [job()], present={"c"}
    )
    assert changes(result)["c:gone@a"]["state"] == "skipped"
    assert changes(result)["c:maybe@a"]["state"] == "unknown"


def test_a_vanished_or_held_calendar_is_kept() -> None:
    rows = [row(cal="old"), row(cal="broken")]
    result = reconcile(rows, [job()], present={"c", "broken"}, held={"broken"})
    assert result.updates == [] and result.vanished == {"old": 1}


def test_same_post_under_a_new_identity_inherits() -> None:
    old = row(cal="dec", state="published", remote_id="r1", url="u1")
    result = reconcile([old], [job(cal="december")], present={"december"})
    [(planned, values, event)] = result.inserts
    assert planned.key == "december:p@a" and values["state"] == "published"
    assert values["remote_id"] == "r1" and "dec:p@a" in event
    # a different time or text is a different post
    assert (
        reconcile([old], [job(cal="december", at=T2)], present={"december"}).inserts[0][1]["state"]
        == "pending"
    )


def test_network_follows_the_account_for_unsent_jobs() -> None:
    result = reconcile([row()], [job(network="webhook")], present={"c"})
    assert changes(result)["c:p@a"]["network"] == "webhook"


def test_thread_append_is_fine_insert_is_held() -> None:
    sent = [row(0, "A", "published"), row(1, "B", "published")]
    appended = reconcile(sent, [job(0, "A"), job(1, "B"), job(2, "C")], present={"c"})
    assert not appended.held_posts and [j.key for j, _, _ in appended.inserts] == ["c:p@a#2"]
    inserted = reconcile(sent, [job(0, "X"), job(1, "A"), job(2, "B")], present={"c"})
    assert "c:p@a" in inserted.held_posts and inserted.inserts == []
    assert inserted.updates == []


def test_thread_edited_and_grown_cannot_be_told_apart() -> None:
    sent = [row(0, "A", "published")]
    result = reconcile(sent, [job(0, "A2"), job(1, "B")], present={"c"})
    assert "cannot tell" in result.held_posts["c:p@a"]
    edited = reconcile(sent, [job(0, "A2")], present={"c"})
    assert not edited.held_posts


def test_thread_not_started_may_change_freely() -> None:
    pending = [row(0, "A"), row(1, "B")]
    result = reconcile(pending, [job(0, "X"), job(1, "A"), job(2, "B")], present={"c"})
    assert not result.held_posts


def test_thread_with_identical_parts_is_not_a_reshape() -> None:
    sent = [row(0, "same", "published"), row(1, "same", "published")]
    result = reconcile(sent, [job(0, "same"), job(1, "same"), job(2, "new")], present={"c"})
    assert not result.held_posts
