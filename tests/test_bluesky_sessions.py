"""Bluesky sessions live in the credential store: runs reuse one, refresh it ahead of
expiry under the store's lock, and never spend a refresh token twice."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl.networks.bluesky import Bluesky
from cmctl.networks.http import Http
from tests.conftest import calendar, post
from tests.networks.helpers import make_outgoing

CREATE = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"


@pytest.fixture
def bsky(project: Any, fake_bluesky: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    project.config(
        "accounts:\n  bsky:\n    network: bluesky\n    handle: brand.test\n"
        f"    app_password: ${{P}}\n    service: {fake_bluesky.url}\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("P", "app-pass-1234")
    return fake_bluesky


def calls(server: Any, method: str) -> int:
    return len(server.requests_to(method))


def stored(project: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.root / ".cmctl" / "credentials.json").read_text())
    return data["accounts"]["bsky"]


def test_two_runs_reuse_one_session(project: Any, run: Any, now: Any, bsky: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 09:40"), accounts="[bsky]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    now.move_to("2026-12-01T08:41:00Z")
    assert run("publish").exit_code == 0
    assert len(bsky.posts()) == 2
    assert calls(bsky, CREATE) == 1
    assert calls(bsky, REFRESH) == 0
    path = project.root / ".cmctl" / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_session_near_its_end_is_refreshed_and_saved_before_it_is_used(
    project: Any, run: Any, now: Any, slept: Any, bsky: Any
) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 11:28"), accounts="[bsky]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    first = stored(project)
    # 1 h 57 min later: the 2-hour access token has 3 minutes left (< 5): refresh first.
    now.move_to("2026-12-01T10:28:00Z")
    bsky.fail_next(
        "com.atproto.repo.putRecord", 503, {"error": "Unavailable"}
    )  # the post fails after the refresh
    run("publish")
    assert calls(bsky, CREATE) == 1 and calls(bsky, REFRESH) == 1
    second = stored(project)
    assert second["refresh"] != first["refresh"]  # rotated, and saved though the post failed
    assert second["version"] == first["version"] + 1
    refresh_req = bsky.requests_to(REFRESH)[0]
    assert refresh_req.headers["authorization"] == f"Bearer {first['refresh']}"
    put = bsky.requests_to("com.atproto.repo.putRecord")[-1]
    assert put.headers["authorization"] == f"Bearer {second['access']}"
    now.move_to("2026-12-01T10:35:00Z")
    assert run("publish").exit_code == 0
    assert len(bsky.posts()) == 2
    assert calls(bsky, CREATE) == 1 and calls(bsky, REFRESH) == 1
    assert set(bsky.refresh_uses.values()) == {1}


def test_a_refused_refresh_token_logs_in_again(project: Any, run: Any, now: Any, bsky: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 12:30"), accounts="[bsky]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    bsky.revoke_refresh_tokens()
    now.move_to("2026-12-01T11:31:00Z")  # the access token expired too
    assert run("publish").exit_code == 0
    assert len(bsky.posts()) == 2
    assert calls(bsky, REFRESH) == 1 and calls(bsky, CREATE) == 2


def test_a_token_the_pds_refuses_early_is_renewed_once(
    project: Any, run: Any, now: Any, bsky: Any
) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 09:40"), accounts="[bsky]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    bsky.expire_access_tokens()  # refused though its `exp` is an hour away
    now.move_to("2026-12-01T08:41:00Z")
    assert run("publish").exit_code == 0
    assert len(bsky.posts()) == 2
    assert calls(bsky, REFRESH) == 1 and calls(bsky, CREATE) == 1


def test_two_processes_racing_for_a_refresh_spend_the_refresh_token_once(
    tmp_path: Path, now: Any, fake_bluesky: Any
) -> None:
    """Two adapters (two store instances, two threads) on one state folder, both with
    a session that expires within the refresh margin: one refreshSession in all."""
    options = {"handle": "brand.test", "app_password": "app-pass-1234", "service": fake_bluesky.url}
    state = tmp_path / "state"
    first = Bluesky("bsky", options, Http(), state)
    first.publish(make_outgoing("dec:a@bsky", "one"))
    first.close()
    now.move_to(fake_bluesky.now() + timedelta(hours=1, minutes=56))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def send(key: str) -> None:
        adapter = Bluesky("bsky", options, Http(), state)
        try:
            barrier.wait(10)
            adapter.publish(make_outgoing(key, key))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            adapter.close()

    threads = [threading.Thread(target=send, args=(f"dec:{k}@bsky",)) for k in "bc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert len(fake_bluesky.posts()) == 3
    assert calls(fake_bluesky, CREATE) == 1
    assert calls(fake_bluesky, REFRESH) == 1
    assert set(fake_bluesky.refresh_uses.values()) == {1}


def test_check_proves_the_app_password_and_keeps_the_session(
    project: Any, run: Any, now: Any, bsky: Any
) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30"), accounts="[bsky]"))
    assert run("accounts", "check").exit_code == 0
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    assert calls(bsky, CREATE) == 1


def test_a_store_others_can_read_stops_the_run_and_shows_no_token(
    project: Any, run: Any, now: Any, bsky: Any
) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30"), post("b", at="2026-12-01 09:40"), accounts="[bsky]"
        )
    )
    now.move_to("2026-12-01T08:31:00Z")
    assert run("publish").exit_code == 0
    path = project.root / ".cmctl" / "credentials.json"
    tokens = stored(project)
    path.chmod(0o644)
    now.move_to("2026-12-01T08:41:00Z")
    result = run("publish")
    shown = result.stdout + result.stderr
    assert result.exit_code != 0
    assert "chmod 600" in shown
    assert tokens["access"] not in shown and tokens["refresh"] not in shown
    assert "Traceback" not in shown
    assert len(bsky.posts()) == 1
