"""Issue #11's "done means", end to end with real `cmctl` processes: from `cmctl init` to a
pull request whose comment shows the plan diff, the team's calendar (ICS) and the client's
page (HTML), then the merged calendar published on time — the path README.md's
"From `cmctl init` to a pull request comment" describes.

Each child's clock is set by the test (tests/shifted_cmctl.py, on top of the session's
``--clock-ahead``): the dates come from what `cmctl init` says, never from the real date.
GitHub is played by a bare repository (the `origin`), a clone (the runner's checkout) and,
for the comment, a fake `gh` that keeps the comments in a JSON file and runs the
workflow's real `--jq` filter through `jq`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import yaml

from tests.clockshift import ENV, parse_offset
from tests.process import SHIFTED

pytestmark = pytest.mark.e2e

MARKER = "<!-- cmctl-plan-diff -->"
WORKFLOW = Path(".github/workflows/validate-calendars.yml")
ZONE = ZoneInfo("Europe/Paris")


class Newcomer:
    """A fresh machine: an empty HOME, git with a name, `cmctl` on PATH whose clock the
    test sets (``at``), no network needed."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        wrapper = self.bin / "cmctl"  # what the workflow's steps call by name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIFTED}" "$@"\n')
        wrapper.chmod(0o755)
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "NO_COLOR": "1",
            "TZ": "Europe/Paris",  # the machine's zone: `cmctl init` takes it
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Newcomer",
            "GIT_AUTHOR_EMAIL": "cm@example.org",
            "GIT_COMMITTER_NAME": "Newcomer",
            "GIT_COMMITTER_EMAIL": "cm@example.org",
        }
        self.env.pop("CMCTL_CONFIG", None)
        self.at(None)

    def at(self, moment: datetime | None) -> None:
        """The children's clock from now on: ``moment`` (ticking), or this test's own."""
        already = parse_offset(os.environ[ENV]) if os.environ.get(ENV) else timedelta(0)
        ahead = timedelta(0) if moment is None else moment - datetime.now(UTC)
        self.env[ENV] = f"{int((already + ahead).total_seconds())}s"

    def cmctl(self, *args: str, cwd: Path, code: int = 0) -> str:
        done = subprocess.run(
            ["cmctl", *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout

    def sh(self, script: str, cwd: Path, env: dict[str, str] | None = None) -> str:
        """A shell step the way GitHub Actions runs `run:` (bash -e -o pipefail)."""
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (script, done.stdout, done.stderr)
        return done.stdout

    def git(self, *args: str, cwd: Path) -> str:
        return self.sh(" ".join(["git", *(f"'{a}'" for a in args)]), cwd)


def workflow_steps(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    return data


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in job["steps"] if s.get("name") == name]
    assert len(found) == 1, [s.get("name") for s in job["steps"]]
    chosen: dict[str, Any] = found[0]
    return chosen


def github_expr(text: str, values: dict[str, str]) -> str:
    """``${{ expr }}`` replaced from ``values``; an expression the test does not know fails."""

    def sub(match: re.Match[str]) -> str:
        assert match[1] in values, f"unexpected expression in the workflow: {match[0]}"
        return values[match[1]]

    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", sub, text)


# --- the whole path --------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_from_init_to_a_pull_request_comment_the_team_calendar_and_the_client_page(
    tmp_path: Path,
) -> None:
    me = Newcomer(tmp_path)
    clone = tmp_path / "work"
    clone.mkdir()

    # cmctl init, in the machine's zone (TZ); the starter week begins next Monday.
    out = me.cmctl("init", "my-brand", cwd=clone)
    assert "time zone Europe/Paris" in out, out
    found = re.search(r"posts from Monday (\d{4}-\d{2}-\d{2})", out)
    assert found, out
    monday = date.fromisoformat(found[1])
    assert monday.weekday() == 0
    project = clone / "my-brand"
    account = next(iter(yaml.safe_load((project / "cmctl.yaml").read_text())["accounts"]))

    # git, and "GitHub": a bare repository as origin.
    me.git("init", "-q", "-b", "main", cwd=project)
    me.git("add", "-A", cwd=project)
    me.git("commit", "-qm", "calendar", cwd=project)
    me.git("init", "-q", "--bare", str(tmp_path / "origin.git"), cwd=tmp_path)
    me.git("remote", "add", "origin", str(tmp_path / "origin.git"), cwd=project)
    me.git("push", "-qu", "origin", "main", cwd=project)
    me.git("switch", "-qc", "december", cwd=project)

    # The change: a post added by hand, two imported from a spreadsheet into a new calendar,
    # all on Monday morning before the starter posts.
    def local(hhmm: str) -> datetime:
        h, m = map(int, hhmm.split(":"))
        return datetime(monday.year, monday.month, monday.day, h, m, tzinfo=ZONE)

    added = me.cmctl(
        "add", "--at", f"{monday} 08:00", "--text", "Early bird: the week ahead", cwd=project
    )
    assert "calendars/first-week.yaml" in added, added
    (project / "sheet.csv").write_text(
        "date,time,text\n"
        f"{monday},08:15,Straight from the spreadsheet\n"
        f"{monday},08:30,Second row of the sheet\n",
        encoding="utf-8",
    )
    me.cmctl(
        "import", "csv", "sheet.csv", "--calendar", "from-sheet", "--accounts", account, cwd=project
    )
    (project / "sheet.csv").unlink()
    me.cmctl("validate", cwd=project)
    new = {
        f"first-week:early-bird-the-week-ahead@{account}": ("08:00", "Early bird: the week ahead"),
        f"from-sheet:straight-from-the-spreadsheet@{account}": (
            "08:15",
            "Straight from the spreadsheet",
        ),
        f"from-sheet:second-row-of-the-sheet@{account}": ("08:30", "Second row of the sheet"),
    }

    # The plan diff, as JSON and as the pull request comment.
    diff = json.loads(me.cmctl("plan", "--diff", "main", "--json", cwd=project))
    assert {e["key"] for e in diff["added"]} == set(new)
    assert not (diff["removed"] or diff["moved"] or diff["edited"])
    comment = me.cmctl("plan", "--diff", "main", "--format", "markdown", cwd=project)
    assert comment.startswith(MARKER + "\n")
    assert "**3 added · 0 removed · 0 moved · 0 edited**" in comment
    for key, (_, text) in new.items():
        assert f"`{key}`" in comment and f"`{text}`" in comment

    me.git("add", "calendars", cwd=project)
    me.git("commit", "-qm", "three posts for Monday morning", cwd=project)
    me.git("push", "-qu", "origin", "december", cwd=project)

    # The workflow init wrote: its plan-diff job's steps produce that comment.
    flow = workflow_steps(project)
    assert "secrets." not in (project / WORKFLOW).read_text()  # only the workflow's own token
    assert flow["permissions"] == {"contents": "read"}
    validate = flow["jobs"]["validate"]
    assert "cmctl validate --format github" in [s.get("run") for s in validate["steps"]]
    job = flow["jobs"]["plan-diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "github.event_name == 'pull_request'" in job["if"]
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert all(s["uses"].startswith("actions/") for s in job["steps"] if "uses" in s)
    plan = step(job, "Plan diff")
    assert 'cmctl plan --diff "$BASE" --format markdown > plan-diff.md' in plan["run"]
    post = step(job, "Post or update the comment")
    assert post["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "plan-diff.md" in post["run"] and MARKER in post["run"]

    # The runner: a full clone (fetch-depth 0) on the pull request's branch; the step as is.
    runner = tmp_path / "runner"
    me.git("clone", "-q", str(tmp_path / "origin.git"), str(runner), cwd=tmp_path)
    me.git("checkout", "-q", "december", cwd=runner)
    values = {"github.base_ref": "main"}
    env = {k: github_expr(str(v), values) for k, v in plan["env"].items()}
    assert env == {"BASE": "origin/main"}
    me.sh(plan["run"], cwd=runner, env=env)
    posted = (runner / "plan-diff.md").read_text(encoding="utf-8")
    assert posted.startswith(MARKER + "\n") and "`origin/main`" in posted
    assert posted.replace("`origin/main`", "`main`") == comment

    # The team's calendar: an ICS the team subscribes to, parsed back.
    (project / "public").mkdir()  # generated files: in .gitignore
    me.cmctl("export", "--format", "ics", "-o", "public/team.ics", cwd=project)
    ics = icalendar.Calendar.from_ical((project / "public" / "team.ics").read_bytes())
    events = {str(e["X-CMCTL-KEY"]): e for e in ics.walk("VEVENT")}
    for key, (hhmm, text) in new.items():
        event = events[key]
        assert event.decoded("DTSTART") == local(hhmm)
        assert text in str(event["DESCRIPTION"])
        assert str(event["UID"]).endswith("@cmctl")
    assert len({str(e["UID"]) for e in events.values()}) == len(events)

    # The client's page: the month of the new posts, self-contained.
    me.cmctl("agenda", "--html", "public/client.html", "--date", str(monday), cwd=project)
    page = (project / "public" / "client.html").read_text(encoding="utf-8")
    for _, text in new.values():
        assert text in page
    assert not re.search(r"""(src|href)=["']https?://[^"']*\.(css|js|png)""", page)
    assert me.git("status", "--porcelain", cwd=project) == "", "generated files are ignored"

    # Merged; Monday 08:45: the three posts are due (08:00 within the 1h catch-up), the
    # welcome post (09:30) is not. Sent once, and status is clean.
    me.git("switch", "-q", "main", cwd=project)
    me.git("merge", "-q", "--ff-only", "december", cwd=project)
    me.at(local("08:45").astimezone(UTC))
    me.cmctl("publish", cwd=project)
    feed = "".join(p.read_text(encoding="utf-8") for p in (project / "public").glob("*.xml"))
    for key in new:
        assert key.split("@")[0] in feed
    assert "first-week:welcome" not in feed
    status = me.cmctl("status", cwd=project)
    assert "published: 3" in status and "missed: 0" in status, status
    assert "failed: 0" in status and "unknown: 0" in status, status
    me.cmctl("publish", cwd=project)  # again: nothing twice
    assert "published: 3" in me.cmctl("status", cwd=project)


# --- the comment step, with a fake GitHub --------------------------------------------
FAKE_GH = r'''#!PYTHON
"""A fake `gh api` over a JSON file of issue comments (tests only)."""
import json, os, subprocess, sys
from pathlib import Path

state = Path(os.environ["FAKE_GH_STATE"])
comments = json.loads(state.read_text())
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "token": os.environ.get("GH_TOKEN")}) + "\n")
assert args[0] == "api", args
method, jq, body, paths = "GET", None, None, []
i = 1
while i < len(args):
    a = args[i]
    if a == "--method":
        method, i = args[i + 1], i + 2
    elif a == "--jq":
        jq, i = args[i + 1], i + 2
    elif a == "--paginate":
        i += 1
    elif a == "-F":
        name, _, value = args[i + 1].partition("=")
        assert name == "body" and value.startswith("@"), args
        body, i = Path(value[1:]).read_text(), i + 2
    else:
        paths.append(a)
        i += 1
(path,) = paths
repo = os.environ["GITHUB_REPOSITORY"]
if method == "GET":
    assert path == f"repos/{repo}/issues/{os.environ['PR']}/comments", path
    out = json.dumps(comments)
    if jq:
        out = subprocess.run(["jq", "-r", jq], input=out, text=True, capture_output=True,
                             check=True).stdout
    sys.stdout.write(out)
elif method == "POST":
    assert path == f"repos/{repo}/issues/{os.environ['PR']}/comments", path
    new_id = max([c["id"] for c in comments] + [100]) + 1
    comments.append({"id": new_id, "user": {"login": "github-actions[bot]"}, "body": body})
elif method == "PATCH":
    prefix = f"repos/{repo}/issues/comments/"
    assert path.startswith(prefix), path
    (c,) = [c for c in comments if c["id"] == int(path[len(prefix):])]
    c["body"] = body
state.write_text(json.dumps(comments))
'''


@pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("bash") is None, reason="needs jq and bash"
)
def test_the_comment_step_posts_one_comment_then_updates_that_one(tmp_path: Path) -> None:
    me = Newcomer(tmp_path)
    me.cmctl("init", "p", "--timezone", "UTC", cwd=tmp_path)
    job = workflow_steps(tmp_path / "p")["jobs"]["plan-diff"]
    post = step(job, "Post or update the comment")
    gh = me.bin / "gh"
    gh.write_text(FAKE_GH.replace("PYTHON", sys.executable))
    gh.chmod(0o755)
    state, log = tmp_path / "comments.json", tmp_path / "gh.log"
    others = [
        # a person quoting the marker, and another bot comment: neither is ours
        {"id": 5, "user": {"login": "alice"}, "body": f"{MARKER}\nquoted by hand"},
        {"id": 6, "user": {"login": "github-actions[bot]"}, "body": "Coverage: 93%"},
    ]
    state.write_text(json.dumps(others))
    values = {"github.token": "ghs_workflow_token", "github.event.pull_request.number": "7"}
    env = {k: github_expr(str(v), values) for k, v in post["env"].items()}
    env |= {"GITHUB_REPOSITORY": "acme/my-brand", "FAKE_GH_STATE": str(state)}
    env["FAKE_GH_LOG"] = str(log)
    run = tmp_path / "runner"
    run.mkdir()

    def push(body: str) -> list[dict[str, Any]]:
        (run / "plan-diff.md").write_text(body, encoding="utf-8")
        me.sh(github_expr(post["run"], values), cwd=run, env=env)
        comments: list[dict[str, Any]] = json.loads(state.read_text())
        return comments

    first = push(f"{MARKER}\n**1 added**\n")
    assert first[:2] == others and len(first) == 3
    ours = first[2]
    assert ours["body"] == f"{MARKER}\n**1 added**\n"
    second = push(f"{MARKER}\n**2 added**\n")  # a later push updates the same comment
    assert second == [*others, {**ours, "body": f"{MARKER}\n**2 added**\n"}]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    methods = [
        next((c["args"][i + 1] for i, a in enumerate(c["args"]) if a == "--method"), "GET")
        for c in calls
    ]
    assert methods == ["GET", "POST", "GET", "PATCH"]
    assert {c["token"] for c in calls} == {"ghs_workflow_token"}


# --- the README's section, as written ----------------------------------------------
def readme_workflow_lines() -> list[str]:
    """The shell lines of README.md's "From `cmctl init` to a pull request comment" and
    the section after it, comments left out."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index("### From `cmctl init` to a pull request comment")
    section = text[start : text.index("\n## ", start)]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        lines += [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return lines


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_readme_workflow_section_runs_as_written(tmp_path: Path) -> None:
    """Every line, literally, but for the GitHub address (a bare repository here) and the
    example dates, which the README tells the reader to take from `cmctl init`'s week."""
    lines = readme_workflow_lines()
    used = {ln.split()[1] for ln in lines if ln.startswith("cmctl ")}
    assert {"init", "add", "import", "plan", "export", "agenda"} <= used, used
    me = Newcomer(tmp_path)
    origin = tmp_path / "origin.git"
    me.git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    script = ["set -x"]
    for n, line in enumerate(lines):
        line = line.replace("https://github.com/YOU/my-brand.git", str(origin))
        for day, var in (("2026-12-10", "$DAY3"), ("2026-12-14", "$DAY7")):
            at = line.find(day)
            quoted = line[:at].count("'") % 2 == 1  # inside '…': close, expand, reopen
            line = line.replace(day, f"'\"{var}\"'" if quoted else var)
        script.append("{ " + line + "\n} || exit 1")  # `a && b` alone never stops `bash -e`
        if n == 0:  # after `cmctl init my-brand && cd my-brand`: the week it printed
            script += [
                "MONDAY=$(sed -n 's/.*dated from \\([0-9-]*\\)\\..*/\\1/p' "
                "calendars/first-week.yaml)",
                'test -n "$MONDAY"',
                'DAY3=$(date -d "$MONDAY + 3 days" +%F); DAY7=$(date -d "$MONDAY + 7 days" +%F)',
            ]
    me.sh("\n".join(script), cwd=tmp_path)
    project = tmp_path / "my-brand"
    ics = icalendar.Calendar.from_ical((project / "public" / "team.ics").read_bytes())
    keys = {str(e["X-CMCTL-KEY"]) for e in ics.walk("VEVENT")}
    assert {"december:hello-from-our-spreadsheet@brand-feed"} <= keys, keys
    assert any(k.startswith("first-week:new-on-the-blog-our-plan@") for k in keys), keys
    assert "</html>" in (project / "public" / "client.html").read_text()  # this month's page
    assert me.git("status", "--porcelain", cwd=project) == ""
    assert "december" in me.git("branch", "--list", cwd=origin)
