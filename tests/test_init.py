"""`cmctl init`: a new project that validates, plans and publishes on any date, and the
README's first command built on it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from cmctl import scaffold
from cmctl.networks import registry
from tests.clockshift import ENV, parse_offset
from tests.conftest import REPO
from tests.process import SHIFTED

EXPECTED = {
    "cmctl.yaml",
    ".env.example",
    "calendars/first-week.yaml",
    "calendars/media/welcome.png",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".github/workflows/validate-calendars.yml",
}


def created(result: Any) -> set[str]:
    return {
        line.split(maxsplit=1)[1].removeprefix("p/")
        for line in result.stdout.splitlines()
        if line.startswith("created ")
    }


def plan_jobs(run: Any) -> list[dict[str, Any]]:
    result = run("plan", "--json", "--drafts")
    assert result.exit_code == 0, result.output
    jobs: list[dict[str, Any]] = json.loads(result.stdout)["jobs"]
    return jobs


# --- the project ---------------------------------------------------------------------
def test_init_a_year_ahead_validates_plans_and_publishes(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    # Wednesday 2027-11-24, a year after the suite's usual clock: the calendar follows.
    now.move_to(datetime(2027, 11, 24, 15, 0, tzinfo=UTC))
    monkeypatch.chdir(tmp_path)
    result = run("init", "p", "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.output
    assert created(result) == EXPECTED
    assert "posts from Monday 2027-11-29" in result.stdout
    monkeypatch.chdir(tmp_path / "p")
    check = run("validate", "--format", "json")
    assert check.exit_code == 0, check.output
    summary = json.loads(check.stdout)
    assert (summary["errors"], summary["warnings"]) == (0, 0), summary["diagnostics"]
    jobs = plan_jobs(run)
    assert jobs and {j["network"] for j in jobs} == {"feed"}
    first = min(datetime.fromisoformat(j["at"]) for j in jobs)
    assert first.astimezone(ZoneInfo("Europe/Paris")).date() == date(2027, 11, 29)
    assert any(j["part"] > 0 for j in jobs), "a thread"
    assert any("~" in j["post"] for j in jobs), "a recurring post"
    assert any(j["queue"] == "weekdays" for j in jobs), "a queued post"
    assert any(j["status"] == "draft" for j in jobs), "a draft"
    assert any(j["media"] and j["media"][0]["alt"] for j in jobs), "an image with alt text"
    sent = run("publish", "--post", "welcome")
    assert sent.exit_code == 0, sent.output
    feed = next((tmp_path / "p" / "public").glob("*.xml")).read_text(encoding="utf-8")
    assert "first-week:welcome" in feed
    # The workflow runs the validation as annotations; the hook and .gitignore are usable.
    workflow = yaml.safe_load((tmp_path / "p" / scaffold.WORKFLOW).read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["validate"]["steps"]]
    assert "cmctl validate --format github" in steps
    hook = yaml.safe_load((tmp_path / "p" / ".pre-commit-config.yaml").read_text())
    assert hook["repos"][0]["hooks"][0]["entry"] == "cmctl validate"
    ignored = (tmp_path / "p" / ".gitignore").read_text().splitlines()
    assert {".cmctl/", ".env", "public/"} <= set(ignored)


@pytest.mark.parametrize(
    ("moment", "zone", "monday"),
    [
        # Sunday 22:30 UTC is already Monday 00:30 in Paris, on the night DST began:
        # the next Monday is the one after, not "tomorrow" as UTC would say.
        (datetime(2027, 3, 28, 22, 30, tzinfo=UTC), "Europe/Paris", date(2027, 4, 5)),
        # Monday 03:00 UTC is still Sunday evening in Los Angeles, the day DST ended:
        # the next Monday is the UTC day itself.
        (datetime(2027, 11, 8, 3, 0, tzinfo=UTC), "America/Los_Angeles", date(2027, 11, 8)),
        # Saturday 12:00 UTC is Sunday 00:00 in Auckland, the day DST begins there.
        (datetime(2027, 9, 25, 12, 0, tzinfo=UTC), "Pacific/Auckland", date(2027, 9, 27)),
    ],
)
def test_next_monday_is_computed_in_the_zone_at_a_dst_edge(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any, moment: datetime, zone: str, monday: date
) -> None:
    now.move_to(moment)
    assert scaffold.next_monday(moment, ZoneInfo(zone)) == monday
    monkeypatch.chdir(tmp_path)
    result = run("init", "p", "--timezone", zone)
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(tmp_path / "p")
    check = run("validate", "--format", "json")
    assert json.loads(check.stdout)["warnings"] == 0, check.stdout
    jobs = plan_jobs(run)
    days = {datetime.fromisoformat(j["at"]).astimezone(ZoneInfo(zone)).date() for j in jobs}
    assert min(days) == monday
    week = {
        datetime.fromisoformat(j["at"]).astimezone(ZoneInfo(zone)).date()
        for j in jobs
        if "~" not in j["post"]  # the recurring post goes on for weeks
    }
    assert max(week) < monday + timedelta(days=7)


def test_the_zone_is_the_machines_unless_given(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert run("init", "a").exit_code == 0
    config = yaml.safe_load((tmp_path / "a" / "cmctl.yaml").read_text())
    assert config["defaults"]["timezone"] == "Asia/Tokyo"
    assert run("init", "b", "--timezone", "America/New_York").exit_code == 0
    config = yaml.safe_load((tmp_path / "b" / "cmctl.yaml").read_text())
    assert config["defaults"]["timezone"] == "America/New_York"
    bad = run("init", "c", "--timezone", "Mars/Olympus")
    assert bad.exit_code == 2 and "'Mars/Olympus' is not a time zone" in bad.stderr
    assert not (tmp_path / "c").exists()


def test_init_never_overwrites(run: Any, now: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cmctl.yaml").write_text("# mine\n")
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    result = run("init")
    assert result.exit_code == 0, result.output
    assert created(result) == EXPECTED - {"cmctl.yaml", ".gitignore"}
    assert "kept     cmctl.yaml (already there, not changed)" in result.stdout
    assert "kept     .gitignore" in result.stdout
    assert (tmp_path / "cmctl.yaml").read_text() == "# mine\n"
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n"
    calendar = tmp_path / "calendars" / "first-week.yaml"
    calendar.write_text("# edited\n")
    again = run("init")
    assert again.exit_code == 0 and "created" not in again.stdout
    assert calendar.read_text() == "# edited\n"
    assert len([line for line in again.stdout.splitlines() if line.startswith("kept")]) == 7


def test_init_in_a_file_is_a_usage_error(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("x")
    result = run("init", "f", "--timezone", "UTC")
    assert result.exit_code == 2 and "is not a folder" in result.stderr


# --- networks: from the declarations --------------------------------------------------
def uncommented(config: str) -> str:
    """cmctl.yaml with every commented account stanza made live, as a user would."""
    lines, inside = [], False
    for line in config.splitlines():
        if line.startswith("  # --- "):
            inside = True
        elif not line.strip():
            inside = False
        elif inside:
            line = "  " + line.removeprefix("  # ")
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_networks_picks_the_stanzas(run: Any, now: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "p", "--timezone", "UTC", "--networks", "mastodon,bluesky")
    assert result.exit_code == 0, result.output
    root = tmp_path / "p"
    config = (root / "cmctl.yaml").read_text()
    assert "# brand-mastodon:" in config and "# brand-bluesky:" in config
    assert "brand-webhook" not in config and "brand-x:" not in config
    env = (root / ".env.example").read_text()
    assert "MASTODON_TOKEN=" in env and "BLUESKY_APP_PASSWORD=" in env
    assert "WEBHOOK" not in env
    # Uncommented, the stanzas are accounts cmctl accepts, secrets as ${VAR} still unset.
    (root / "cmctl.yaml").write_text(uncommented(config))
    monkeypatch.chdir(root)
    accounts = run("accounts", "--json")
    assert accounts.exit_code == 0, accounts.output
    data = {a["account"]: a for a in json.loads(accounts.stdout)["accounts"]}
    assert data["brand-mastodon"]["missing_env"] == ["MASTODON_TOKEN"]
    assert data["brand-bluesky"]["missing_env"] == ["BLUESKY_APP_PASSWORD"]
    assert run("validate").exit_code == 0


def test_every_network_has_a_stanza_by_default(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("init", "--timezone", "UTC").exit_code == 0
    config = (tmp_path / "cmctl.yaml").read_text()
    local = scaffold.local_network([registry.get(n) for n in registry.names()])
    for name in registry.names():
        if name != local.name:
            assert f"  # brand-{name}:\n  #   network: {name}\n" in config, name
    live = yaml.safe_load(config)["accounts"]
    assert list(live) == [f"brand-{local.name}"]
    # No secret in clear anywhere: each secret field is a ${VAR} listed in .env.example.
    env = (tmp_path / ".env.example").read_text()
    for name in registry.names():
        cls = registry.get(name)
        for f in cls.account_fields:
            if f.secret:
                var = scaffold.env_name(cls, f)
                assert f"{f.name}: ${{{var}}}" in config and f"\n{var}=\n" in env


def test_unknown_network_exits_2_with_the_known_names(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "--networks", "mastodon,myspace", "--timezone", "UTC")
    assert result.exit_code == 2
    assert "unknown network 'myspace'" in result.stderr
    assert ", ".join(registry.names()) in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_image_is_a_small_valid_png(tmp_path: Path) -> None:
    from cmctl.media import dimensions, sniff_bytes

    path = tmp_path / "b.png"
    path.write_bytes(scaffold.banner_png())
    assert sniff_bytes(path.read_bytes()[:16]) == "image/png"
    assert dimensions(path) == (600, 315)
    assert len(path.read_bytes()) < 5000


# --- the README's first command ---------------------------------------------------------
def readme_main_job() -> list[str]:
    """The steps of the README's first set-up command after the install, as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    line = next(line for line in block.splitlines() if line.startswith("python3 -m venv"))
    parts = [p.strip() for p in line.split("&&")]
    installed = next(i for i, p in enumerate(parts) if p.startswith("pip install -e ."))
    assert parts[installed] == "pip install -e .", "the first command installs cmctl only"
    return parts[installed + 1 :]


def shifted_env(ahead: timedelta, home: Path) -> dict[str, str]:
    """The environment of a child cmctl whose clock is ``ahead`` of this test session's."""
    already = parse_offset(os.environ[ENV]) if os.environ.get(ENV) else timedelta(0)
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1"}
    env[ENV] = f"{int((already + ahead).total_seconds())}s"
    env.pop("CMCTL_CONFIG", None)
    return env


@pytest.mark.e2e
@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(days=365)])
def test_readme_first_command_works_on_any_date(tmp_path: Path, ahead: timedelta) -> None:
    """The README's first command, step by step, with real `cmctl` processes whose clock
    is moved ahead, in a temp folder standing for a fresh clone (the repository itself
    stays untouched). Every step must be a cmctl command or a cd: nothing untested."""
    steps = readme_main_job()
    assert steps[0].startswith("cmctl init "), steps
    env = shifted_env(ahead, tmp_path)
    cwd = tmp_path / "clone"
    cwd.mkdir()
    ran = []
    for step in steps:
        argv = shlex.split(step)
        if argv[0] == "cd":
            cwd = (cwd / argv[1]).resolve()
            continue
        assert argv[0] == "cmctl", f"README step not covered by this test: {step}"
        done = subprocess.run(
            [sys.executable, str(SHIFTED), *argv[1:]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (step, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert "warning" not in done.stdout.lower(), (step, done.stdout)
        ran.append(argv[1])
        if argv[1] == "plan":
            assert "welcome" in done.stdout, "plan shows the starter posts"
    assert ran[:4] == ["init", "validate", "plan", "publish"]
    assert cwd == tmp_path / "clone", "the command ends where it started"
    project = tmp_path / "clone" / "demo"
    feed = "".join(p.read_text(encoding="utf-8") for p in (project / "public").iterdir())
    assert "first-week:welcome" in feed


def test_an_unknown_machine_zone_falls_back_to_utc_and_says_so(
    run: Any, now: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(scaffold, "system_zone", lambda: None)
    result = run("init")
    assert result.exit_code == 0
    assert "time zone is unknown: the project uses UTC" in result.stderr
    assert yaml.safe_load((tmp_path / "cmctl.yaml").read_text())["defaults"]["timezone"] == "UTC"
