"""One calendar to Telegram, Discord, Slack, WordPress, DEV and a Facebook Page at once,
through the real `cmctl publish`, against each network's fake (tests/fakes/).

A text, an image with alt text, and a thread, to all six. Then the same with the
publishing process killed (SIGKILL) mid-run and started again: on the networks that can
look a post up nothing is ever published twice and everything goes out; on the two
that cannot (Telegram, Discord), nothing is ever published twice either, and what
cannot be known is `unknown`, never guessed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEFAULT_NOW
from tests.fakes.devto import FakeDevTo
from tests.fakes.discord import FakeDiscord
from tests.fakes.facebook import FakeFacebook
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress
from tests.networks.test_contract import CASES
from tests.process import Processes, processes_fixture  # noqa: F401 (the fixture)
from tests.test_media_url import Files
from tests.test_validate import png

NAMES = ("telegram", "discord", "slack", "wordpress", "devto", "facebook")
IMAGE = png(8, 8)


def texts(name: str, server: Any) -> list[str]:
    """Everything of ours the network holds, one string per message, post or comment."""
    if name == "telegram":
        return [m.get("text") or m.get("caption") or "" for m in server.messages]
    if name == "discord":
        return [m["content"] for m in server.messages]
    if name == "slack":
        return [m.get("text") or "" for m in server.messages]
    if name == "wordpress":
        return [p["title"]["raw"] if isinstance(p["title"], dict) else p["title"]
                for p in server.published()]  # fmt: skip
    if name == "devto":
        return [a["title"] for a in server.mine()]
    comments = [c["message"] for cs in server.comments.values() for c in cs]
    return [*server.messages(), *comments]


class Six:
    """The six fakes and the project that publishes to them."""

    def __init__(self, root: Path, latency: float) -> None:
        self.root = root
        self.stack = contextlib.ExitStack()
        self.servers: dict[str, Any] = {
            "telegram": FakeTelegram(latency=latency),
            "discord": FakeDiscord(latency=latency),
            "slack": FakeSlack(latency=latency),
            "wordpress": FakeWordPress(latency=latency),
            "devto": FakeDevTo(),
            "facebook": FakeFacebook(latency=latency),
        }
        for server in self.servers.values():
            self.stack.enter_context(server)
        self.files = self.stack.enter_context(Files({"/site/calendars/pic.png": IMAGE}))
        self.env: dict[str, str] = {"CMCTL_HTTP_TIMEOUT": "2"}
        lines = ["accounts:"]
        for name in NAMES:
            case = CASES[name]
            options, env = case.options(self.servers[name])
            self.env.update(env)
            lines += [f"  {case.account}:", *(f"    {line}" for line in options)]
        lines += [f"media_url: {self.files.url}/site", "defaults:", "  timezone: UTC"]
        (root / "cmctl.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / "calendars").mkdir()
        (root / "calendars" / "pic.png").write_bytes(IMAGE)

    def calendar(self, at: datetime) -> None:
        accounts = ", ".join(CASES[n].account for n in NAMES)
        when = at.strftime("%Y-%m-%d %H:%M")
        body = f"""\
defaults:
  accounts: [{accounts}]
  catch_up: 2h
posts:
  - id: hello
    at: {when}
    title: Hello
    text: "Bonjour à toutes et à tous : *cmctl* [arrive] #cm"
  - id: picture
    at: {when}
    title: A picture
    text: "Notre nouveau local"
    media:
      - path: pic.png
        alt: "Une salle claire avec six bureaux"
  - id: story
    at: {when}
    title: A story
    text: "Un fil en trois parties (1/3)"
    thread:
      - "Deuxième partie (2/3)"
      - "Troisième partie (3/3)"
"""
        (self.root / "calendars" / "c.yaml").write_text(body, encoding="utf-8")

    def published(self) -> dict[str, list[str]]:
        return {name: texts(name, server) for name, server in self.servers.items()}

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def six(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Six]:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    project = Six(root, latency=0.0)
    for name, value in project.env.items():
        monkeypatch.setenv(name, value)
    yield project
    project.close()


# What one complete run leaves on each network: the thread is three messages where the
# network replies or follows up, comments on Facebook, one article on the blogs.
EXPECTED = {
    "telegram": 5,
    "discord": 5,
    "slack": 5,
    "wordpress": 3,
    "devto": 3,
    "facebook": 5,
}


def test_a_text_an_image_and_a_thread_to_all_six(six: Six, run: Any, now: Any) -> None:
    six.calendar(DEFAULT_NOW)
    check = run("validate")
    assert check.exit_code == 0, check.output
    result = run("publish", "--json")
    outcomes = json.loads(result.stdout)["outcomes"]
    assert result.exit_code == 0, outcomes
    assert Counter(o["state"] for o in outcomes) == {"published": 26}
    assert all(o["url"] for o in outcomes), [o for o in outcomes if not o["url"]]
    assert {n: len(t) for n, t in six.published().items()} == EXPECTED
    # the image went out with its alt text where the network has a field for it
    assert six.servers["discord"].messages[1]["attachments"][0]["description"] == (
        "Une salle claire avec six bureaux"
    )
    # Telegram's text as written: no Markdown was parsed
    assert "*cmctl* [arrive]" in six.servers["telegram"].messages[0]["text"]
    again = run("publish", "--json")
    assert json.loads(again.stdout)["outcomes"] == []
    assert {n: len(t) for n, t in six.published().items()} == EXPECTED


def ledger_states(root: Path) -> dict[str, str]:
    path = root / ".cmctl" / "ledger.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return dict(db.execute("SELECT key, state FROM jobs"))


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.e2e
def test_kill_9_mid_run_and_a_restart_never_publish_twice(
    tmp_path: Path, processes: Processes
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    six = Six(root, latency=0.3)
    try:
        six.calendar(datetime.now(UTC) - timedelta(minutes=1))
        env = {**os.environ, **six.env, "NO_COLOR": "1", "HOME": str(tmp_path)}
        first = processes.cmctl("publish", cwd=root, env=env, stdout=-3, stderr=-3)
        # some requests have reached the networks: kill it in the middle of the run
        assert wait_for(lambda: sum(len(s.requests) for s in six.servers.values()) >= 8, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        for _ in range(2):  # the restart recovers the dead run's claims at once
            again = processes.cmctl("publish", cwd=root, env=env, stdout=-3, stderr=-3)
            again.wait(120)
        published = six.published()
        states = ledger_states(root)
    finally:
        six.close()
    for name, found in published.items():
        doubles = [text for text, n in Counter(found).items() if n > 1]
        assert doubles == [], f"{name} published twice: {doubles}"
    for name in ("slack", "wordpress", "devto", "facebook"):  # they can look posts up
        assert len(published[name]) == EXPECTED[name], (name, published[name])
    for name in ("telegram", "discord"):  # they cannot: what is missing is unknown
        account = CASES[name].account
        mine = {k: s for k, s in states.items() if f"@{account}" in k}
        missing = EXPECTED[name] - len(published[name])
        assert sum(s == "unknown" for s in mine.values()) >= missing, (name, mine)
        assert set(mine.values()) <= {"published", "unknown"}, (name, mine)
    others = {k: s for k, s in states.items() if s != "published"}
    assert set(others.values()) <= {"unknown"}, others
