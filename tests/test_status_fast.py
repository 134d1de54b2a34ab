"""`cmctl status` off a terminal answers without rich and without the credential store's
code, and prints exactly what rich would have printed."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest

from cmctl import output


def _report(reason: str = "the network said no") -> dict[str, Any]:
    return {
        "ledger": True,
        "counts": {"pending": 3, "published": 12, "failed": 1},
        "daemon": {"state": "stopped", "heartbeat": "2026-12-01T10:00:00+00:00", "pid": 42},
        "next": "2026-12-02T09:00:00+00:00",
        "retrying": [
            {
                "key": "dec:p1@masto",
                "attempts": 2,
                "reason": "HTTP 503 [busy]",
                "next_attempt_at": "2026-12-01T10:05:00+00:00",
            }
        ],
        "blocked": ["calendar 'old' is held: [red]fix it[/]"],
        "attention": [
            {
                "key": "dec:p2@masto",
                "state": "failed",
                "network": "net",
                "scheduled_at": "2026-12-01T09:00:00+00:00",
                "reason": reason,
            },
            {
                "key": "dec:p3@feed#2",
                "state": "missed",
                "network": "net",
                "scheduled_at": "2026-12-01T08:00:00+00:00",
                "reason": None,
            },
            {
                "key": "dec:p4@feed",
                "state": "unknown",
                "network": "net",
                "scheduled_at": "2026-12-01T08:00:00+00:00",
                "reason": "timed out",
            },
        ],
    }


def _with_rich(report: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    out = Console(file=buffer, highlight=False, width=160)
    for line in output.status_lines(report):
        out.print(Text.assemble(*line))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "report",
    [
        _report(),
        {"ledger": False},
        {**_report(), "daemon": None, "attention": [], "retrying": [], "blocked": []},
        {**_report(), "daemon": {"alive": True, "pid": 7, "heartbeat_age_s": 3.5}},
    ],
)
def test_plain_status_is_what_rich_prints(report: dict[str, Any], monkeypatch: Any) -> None:
    for name in output._RICH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("COLUMNS")
    plain = output._plain_text(output.status_lines(report))
    assert plain is not None
    assert plain == _with_rich(report)
    assert "[red]fix it[/]" in plain or not report.get("blocked")  # markup shown as text


@pytest.mark.parametrize("reason", ["x" * 170, "tab\there", "wide 🎉", "ctrl\rcode", "accent é"])
def test_rich_prints_what_plain_text_cannot_say_the_same(reason: str, monkeypatch: Any) -> None:
    for name in output._RICH_ENV:
        monkeypatch.delenv(name, raising=False)
    assert output._plain_text(output.status_lines(_report(reason + "y" * 30))) is None
    assert output._plain_text(output.status_lines(_report())) is not None  # COLUMNS=200
    monkeypatch.setenv("COLUMNS", "80")  # the first line no longer fits
    assert output._plain_text(output.status_lines(_report())) is None
    monkeypatch.setenv("COLUMNS", "wide")
    assert output._plain_text(output.status_lines(_report())) is None
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert output._plain_text(output.status_lines(_report())) is None


def test_status_text_unchanged_through_the_cli(project: Any, run: Any) -> None:
    result = run("status")
    assert result.exit_code == 0
    assert result.stdout == "nothing published yet (no ledger in the state folder)\n"


def test_piped_status_loads_neither_rich_nor_the_credential_store(project: Any, run: Any) -> None:
    from tests.conftest import calendar, post

    project.calendar(calendar(post("p", at="2027-03-01 09:30", text="A"), accounts="[feed]"))
    assert run("publish").exit_code == 0  # a ledger, so the counts are printed
    code = (
        "import sys\n"
        "from cmctl.cli import main\n"
        "sys.argv = ['cmctl', 'status']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('rich', 'cmctl.networks.credentials', 'cmctl.ledger.reconcile')"
        " if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "pending: " in done.stdout, done.stdout + done.stderr
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


def test_the_credential_file_name_is_the_store_s() -> None:
    from cmctl import status
    from cmctl.networks.credentials import STORE_NAME

    assert status.CREDENTIALS_FILE == STORE_NAME
