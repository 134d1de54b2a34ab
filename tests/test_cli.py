"""The command line itself: help, version, exit codes, start-up weight, the real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmctl.cli import COMMANDS
from tests.conftest import REPO, calendar, post
from tests.process import cmctl_cmd


def test_version(run: Any) -> None:
    from cmctl import __version__

    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_useful_help(run: Any, name: str) -> None:
    result = run(name, "--help")
    assert result.exit_code == 0
    assert f"Usage: cli {name}" in result.stdout or f"Usage: cmctl {name}" in result.stdout
    assert len(result.stdout.splitlines()) > 5


def test_unknown_command_suggests(run: Any) -> None:
    result = run("valdiate")
    assert result.exit_code == 2
    assert "Did you mean 'validate'" in result.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from cmctl.cli import main\n"
        "sys.argv = ['cmctl', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('httpx', 'apscheduler', 'rich',"
        " 'yaml') or m.startswith('cmctl.networks.') or m.startswith('cmctl.calendar')]\n"
        "sys.stderr.write(repr(sorted(heavy)))\n"
    )
    for args in (["--help"], ["validate", "--help"], ["plan", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
        )
        assert done.stderr == "[]", (args, done.stderr)


def test_internal_errors_never_show_a_traceback(project: Any, run: Any, monkeypatch: Any) -> None:
    import cmctl.project

    def boom(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cmctl.project, "compile_jobs", boom)
    project.calendar(calendar(post("a")))
    result = run("validate")
    assert result.exit_code == 70
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_command_writes_a_file(project: Any, run: Any) -> None:
    result = run("schema", "-o", "calendar.schema.json")
    assert result.exit_code == 0
    schema = json.loads(Path("calendar.schema.json").read_text())
    assert schema["$schema"].endswith("2020-12/schema")
    assert json.loads(run("schema").stdout) == schema


def test_accounts_never_show_secrets(project: Any, run: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MASTO_TOKEN", "s3cr3t-token-value")
    project.write(".env", "BSKY_PASSWORD='dotenv-password'\n")
    result = run("accounts", "--json")
    assert result.exit_code == 0
    data = {a["account"]: a for a in json.loads(result.stdout)["accounts"]}
    assert data["masto"]["missing_env"] == [] and data["bsky"]["missing_env"] == []
    assert data["masto"]["max_length"] == 500
    text = run("accounts").stdout
    assert "s3cr3t" not in text + result.stdout and "dotenv-password" not in text + result.stdout
    monkeypatch.delenv("MASTO_TOKEN")
    data = {a["account"]: a for a in json.loads(run("accounts", "--json").stdout)["accounts"]}
    assert data["masto"]["missing_env"] == ["MASTO_TOKEN"]


def test_mastodon_instance_limit_override(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n    instance: https://m.example\n"
        "    token: ${T}\n    max_characters: 5000\ndefaults:\n  timezone: UTC\n"
    )
    project.calendar(calendar(post("a", text="x" * 4000), tz="UTC"))
    result = run("validate")
    assert result.exit_code == 0, result.output


@pytest.mark.e2e
def test_real_process_on_the_sample_calendar(tmp_path: Path) -> None:
    """The sample calendar as shipped: valid, with a thread, a draft, an image, alt text."""
    cmd = cmctl_cmd()
    env = {**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1"}
    env.pop("CMCTL_CONFIG", None)
    validate = subprocess.run(
        [*cmd, "validate", "--format", "json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    summary = json.loads(validate.stdout)
    assert summary["errors"] == 0 and summary["posts"] >= 16
    plan = subprocess.run(
        [*cmd, "plan", "--json", "--drafts"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plan.returncode == 0, plan.stderr
    jobs = json.loads(plan.stdout)["jobs"]
    assert {j["network"] for j in jobs} == {"feed"}
    assert any(j["part"] > 0 for j in jobs), "the sample has a thread"
    assert any(j["status"] == "draft" for j in jobs), "the sample has a draft"
    assert any(j["media"] and j["media"][0]["alt"] for j in jobs), "an image with alt text"
    assert any("~" in j["post"] for j in jobs), "the sample has a recurring post"
    assert any(j["queue"] for j in jobs), "the sample has a queued post"
    bad = subprocess.run(
        [*cmd, "validate", "missing.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
