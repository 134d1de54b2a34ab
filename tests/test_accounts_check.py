"""`cmctl accounts check` sends nothing a receiver could publish; `--send-test` says what it
sends, and only then sends it."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.webhook import WEBHOOK_SECRET


def hook_project(project: Any, monkeypatch: Any, hook: Any) -> None:
    project.config(
        f"accounts:\n  hook:\n    network: webhook\n    url: {hook.url}/hooks/cmctl\n"
        "    secret: ${HOOK_SECRET}\n  feed:\n    network: feed\n"
        "    path: public/feed.xml\n"
    )
    monkeypatch.setenv("HOOK_SECRET", WEBHOOK_SECRET)


def test_check_delivers_nothing_to_a_webhook(
    project: Any, run: Any, monkeypatch: Any, fake_webhook: Any
) -> None:
    hook_project(project, monkeypatch, fake_webhook)
    result = run("accounts", "check")
    assert result.exit_code == 0, result.output
    assert fake_webhook.requests == []  # not even a HEAD: a receiver may act on anything
    assert "nothing sent" in result.stdout and "--send-test hook" in result.stdout
    data = {
        r["account"]: r for r in json.loads(run("accounts", "check", "--json").stdout)["accounts"]
    }
    assert fake_webhook.requests == []
    assert data["hook"]["ok"] is True and data["hook"]["checked"] is False
    assert data["hook"]["sent"] is None
    assert "reachable" in data["hook"]["message"]
    assert data["feed"]["checked"] is True


def test_send_test_says_what_it_sends_then_sends_one_event(
    project: Any, run: Any, monkeypatch: Any, fake_webhook: Any
) -> None:
    hook_project(project, monkeypatch, fake_webhook)
    result = run("accounts", "check", "--send-test", "hook")
    assert result.exit_code == 0, result.output
    assert "sending a cmctl.ping test event" in result.stderr
    (delivery,) = fake_webhook.deliveries
    assert delivery.verified and delivery.json["type"] == "cmctl.ping"
    assert "it answered 200" in result.stdout
    data = json.loads(run("accounts", "check", "--json", "--send-test", "hook").stdout)
    (hook,) = [r for r in data["accounts"] if r["account"] == "hook"]
    assert hook["checked"] is True and hook["sent"].startswith("sent a signed cmctl.ping")


def test_send_test_refuses_accounts_without_a_test_event(
    project: Any, run: Any, monkeypatch: Any, fake_webhook: Any
) -> None:
    hook_project(project, monkeypatch, fake_webhook)
    for name, words in (("feed", "has no test event"), ("nope", "unknown account")):
        result = run("accounts", "check", "--send-test", name)
        assert result.exit_code == 2 and words in result.stderr
    assert fake_webhook.requests == []


def test_check_reports_an_unreachable_webhook_without_sending(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    project.config(
        f"accounts:\n  hook:\n    network: webhook\n"
        f"    url: http://127.0.0.1:{port}/hooks/T0KEN-in-the-path-123\n"
    )
    result = run("accounts", "check")
    assert result.exit_code == 1
    assert "cannot connect" in result.stdout and "T0KEN" not in result.stdout
