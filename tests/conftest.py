"""Test isolation by default: no test touches $HOME, the real cwd or the internet."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner, Result

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("CMCTL_CONFORMANCE", REPO.parent / "shared" / "conformance"))

# A moment before the sample calendar (December 2026) so its posts are in the future.
pytest_plugins = ["tests.fakes.fixtures", "tests.clockshift"]

DEFAULT_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    # Start every test in an empty folder: a test that forgets its project must not
    # find (and write the state of) the repository's own sample project.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".state"))
    monkeypatch.delenv("CMCTL_CONFIG", raising=False)
    monkeypatch.delenv("CMCTL_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    # Each test starts with no secret remembered: a redaction must come from the test's
    # own configuration, never from a secret an earlier test happened to resolve.
    from cmctl import redact

    monkeypatch.setattr(redact, "_process", redact.Redactor())


@pytest.fixture
def now() -> Iterator[time_machine.Coordinates]:
    """Freeze time at DEFAULT_NOW (tick off); tests may move it with .move_to()."""
    with time_machine.travel(DEFAULT_NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def slept(now: time_machine.Coordinates, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """cmctl's waits (cmctl.clock.sleep) move the frozen clock instead of sleeping."""
    waited: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waited.append(seconds)
        now.shift(seconds)

    monkeypatch.setattr("cmctl.clock.sleep", fake_sleep)
    return waited


class Project:
    """A throw-away cmctl project in a temp folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    def config(self, content: str) -> Path:
        return self.write("cmctl.yaml", content)

    def calendar(self, content: str, name: str = "dec.yaml") -> Path:
        return self.write(f"calendars/{name}", content)


DEFAULT_CONFIG = """
accounts:
  masto:
    network: mastodon
    instance: https://mastodon.example
    token: ${MASTO_TOKEN}
  bsky:
    network: bluesky
    handle: brand.bsky.social
    app_password: ${BSKY_PASSWORD}
  xacct:
    network: x
  insta:
    network: instagram
  tg:
    network: telegram
    token: ${TG_TOKEN}
    chat: "@brand_news"
  feed:
    network: feed
    path: public/feed.xml
defaults:
  timezone: Europe/Paris
"""

# A queue of two weekday slots for the feed account (add it to DEFAULT_CONFIG).
WEEKDAY_QUEUE = """
queues:
  weekdays:
    timezone: Europe/Paris
    slots: ["mon-fri 09:00", "mon-fri 12:30"]
    accounts: [feed]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    p = Project(root)
    p.config(DEFAULT_CONFIG)
    return p


@pytest.fixture
def run(now: Any) -> Callable[..., Result]:
    """Run cmctl in-process via CliRunner, with time frozen."""
    from cmctl.cli import cli

    def invoke(*args: str, **kwargs: Any) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)

    return invoke


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def post(id: str, at: str = "2026-12-01 09:30", text: str = "Bonjour", **extra: Any) -> str:
    """One post as YAML text, for building calendars in tests."""
    lines = [f"  - id: {id}", f"    at: {at}", f"    text: {json.dumps(text, ensure_ascii=False)}"]
    for key, value in extra.items():
        lines.append(f"    {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def calendar(*posts: str, accounts: str = "[masto]", tz: str = "Europe/Paris") -> str:
    return f"timezone: {tz}\ndefaults:\n  accounts: {accounts}\nposts:\n" + "".join(posts)
