"""`cmctl plan --diff REV` on a temporary git repository, one commit per kind of change."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEFAULT_CONFIG, as_json, calendar, post
from tests.test_validate import png

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

FEED_CONFIG = """
accounts:
  masto:
    network: mastodon
    instance: https://mastodon.example
    token: ${MASTO_TOKEN}
  feed:
    network: feed
    path: public/feed.xml
defaults:
  timezone: Europe/Paris
"""


class Repo:
    """A git repository around the test project; commits with fixed authors and dates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        self.git("init", "-q", "-b", "main")
        (root / ".gitignore").write_text(".cmctl/\npublic/\n")

    def git(self, *args: str) -> str:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root.parent),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.com",
            "GIT_AUTHOR_DATE": f"2026-11-01T10:{self.count:02d}:00+00:00",
            "GIT_COMMITTER_DATE": f"2026-11-01T10:{self.count:02d}:00+00:00",
        }
        done = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def commit(self, message: str) -> str:
        self.count += 1
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(project: Any) -> Repo:
    r = Repo(project.root)
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Our winter sale starts Monday"),
            post("b", at="2026-12-02 10:00", text="Second post"),
        )
    )
    r.commit("first calendar")
    return r


def diff_json(run: Any, rev: str = "HEAD") -> dict[str, Any]:
    result = run("plan", "--diff", rev, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = as_json(result)
    return data


def test_no_change(project: Any, repo: Repo, run: Any) -> None:
    result = run("plan", "--diff", "HEAD")
    assert result.exit_code == 0, result.output
    assert "No change to the plan." in result.stdout
    data = diff_json(run)
    assert data["counts"]["added"] == data["counts"]["removed"] == 0


def test_added_removed_moved_edited_one_commit_each(project: Any, repo: Repo, run: Any) -> None:
    first = repo.git("rev-parse", "HEAD").strip()
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Our winter sale starts Monday"),
            post("b", at="2026-12-02 10:00", text="Second post"),
            post("c", at="2026-12-03 11:00", text="A new one"),
        )
    )
    added = repo.commit("add c")
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Our winter sale starts Monday"),
            post("c", at="2026-12-03 11:00", text="A new one"),
        )
    )
    removed = repo.commit("remove b")
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Our winter sale starts Monday"),
            post("c", at="2026-12-04 18:15", text="A new one"),
        )
    )
    moved = repo.commit("move c")
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Our big winter sale starts Tuesday"),
            post("c", at="2026-12-04 18:15", text="A new one"),
        )
    )
    repo.commit("edit a")

    data = diff_json(run, f"{added}~1")
    assert data["commit"] == first
    assert [e["key"] for e in data["added"]] == ["dec:c@masto"]
    assert [e["key"] for e in data["removed"]] == ["dec:b@masto"]
    assert data["moved"] == []  # c did not exist then: added at its new time
    assert [e["key"] for e in data["edited"]] == ["dec:a@masto"]

    since = diff_json(run, removed)  # HEAD compared with "remove b": moved + edited
    assert since["added"] == since["removed"] == []
    assert [e["key"] for e in since["moved"]] == ["dec:c@masto"]
    assert [e["key"] for e in since["edited"]] == ["dec:a@masto"]
    [move] = diff_json(run, moved + "~1")["moved"]
    assert move["from"]["local"] == "2026-12-03T11:00:00+01:00"
    assert move["to"]["local"] == "2026-12-04T18:15:00+01:00"
    [edit] = diff_json(run, moved)["edited"]
    assert edit["changed"] == ["text"]
    assert edit["text_before"] == "Our winter sale starts Monday"
    assert edit["text"] == "Our big winter sale starts Tuesday"
    assert ["+", " big"] in edit["word_diff"]
    assert ["-", "Monday"] in edit["word_diff"] and ["+", "Tuesday"] in edit["word_diff"]

    text = run("plan", "--diff", first).stdout
    assert "1 added, 1 removed, 0 moved, 1 edited" in text
    assert "+ dec:c@masto" in text and "- dec:b@masto" in text
    assert (
        "2026-12-03 11:00 CET → 2026-12-04 18:15 CET" in run("plan", "--diff", moved + "~1").stdout
    )
    assert "Our{+ big+} winter sale starts [-Monday-]{+Tuesday+}" in text


def test_the_working_tree_is_compared_and_left_alone(project: Any, repo: Repo, run: Any) -> None:
    path = project.calendar(calendar(post("a", at="2026-12-01 09:30", text="Uncommitted")))
    before = path.read_bytes()
    status = repo.git("status", "--porcelain")
    data = diff_json(run)
    assert [e["key"] for e in data["removed"]] == ["dec:b@masto"]
    assert data["edited"][0]["text"] == "Uncommitted"
    assert path.read_bytes() == before
    assert repo.git("status", "--porcelain") == status
    assert repo.git("stash", "list") == ""


def test_accounts_added_and_dropped(project: Any, repo: Repo, run: Any) -> None:
    project.config(DEFAULT_CONFIG.replace("  xacct:\n    network: x\n", ""))
    dropped = repo.commit("drop xacct")
    project.config(DEFAULT_CONFIG)
    repo.commit("add xacct back")
    data = diff_json(run, dropped)
    assert data["accounts"]["added"] == [{"account": "xacct", "network": "x"}]
    assert data["accounts"]["dropped"] == []
    back = diff_json(run, "HEAD")
    assert back["accounts"] == {"added": [], "dropped": [], "changed": []}
    project.config(DEFAULT_CONFIG.replace("  tg:\n", "  tg2:\n"))
    data = diff_json(run)
    assert data["accounts"]["added"] == [{"account": "tg2", "network": "telegram"}]
    assert data["accounts"]["dropped"] == [{"account": "tg", "network": "telegram"}]
    assert "1 account added, 1 account dropped" in run("plan", "--diff", "HEAD").stdout


def test_already_published_is_said(project: Any, run: Any, now: Any) -> None:
    project.config(FEED_CONFIG)
    repo = Repo(project.root)
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30", text="Sale starts Monday"), accounts="[feed]")
    )
    repo.commit("calendar")
    now.move_to(datetime(2026, 12, 1, 8, 31, tzinfo=UTC))
    assert run("publish").exit_code == 0
    project.calendar(
        calendar(post("a", at="2026-12-01 09:30", text="Sale starts Tuesday"), accounts="[feed]")
    )
    data = diff_json(run)
    assert data["edited"][0]["state"] == "published"
    assert data["published"] == ["dec:a@feed"]
    text = run("plan", "--diff", "HEAD").stdout
    assert "already published: the edit will not be published again" in text
    markdown = run("plan", "--diff", "HEAD", "--format", "markdown").stdout
    assert "1 already published" in markdown
    assert "the edit will not be published again" in markdown


def test_media_comes_from_the_revision(project: Any, repo: Repo, run: Any) -> None:
    project.write("calendars/media/a.png", png(4, 4))
    project.calendar(
        calendar(
            post("a", text="Hi", media=[{"path": "media/a.png", "alt": "A"}]),
            accounts="[masto]",
        )
    )
    repo.commit("media")
    assert diff_json(run)["edited"] == []
    project.write("calendars/media/a.png", png(4, 4, pad=10))
    [edit] = diff_json(run)["edited"]
    assert edit["changed"] == ["media"]


def test_bad_revision_and_not_a_repository(project: Any, repo: Repo, run: Any) -> None:
    result = run("plan", "--diff", "no-such-branch")
    assert result.exit_code == 2
    assert "unknown revision 'no-such-branch'" in result.stderr
    assert "Traceback" not in result.output
    result = run("plan", "--diff", "--upload-pack=evil")
    assert result.exit_code == 2
    shutil.rmtree(project.root / ".git")
    result = run("plan", "--diff", "HEAD")
    assert result.exit_code == 2
    assert "is not in a git repository" in result.stderr


def test_diff_refuses_filters_and_markdown_needs_diff(project: Any, repo: Repo, run: Any) -> None:
    assert run("plan", "--diff", "HEAD", "--account", "masto").exit_code == 2
    assert run("plan", "--format", "markdown").exit_code == 2


def test_config_missing_at_the_revision_means_everything_is_new(
    project: Any, repo: Repo, run: Any
) -> None:
    (project.root / "cmctl.yaml").rename(project.root / "kept.yaml")
    repo.commit("untrack cmctl.yaml")
    (project.root / "kept.yaml").rename(project.root / "cmctl.yaml")
    data = diff_json(run)
    assert {e["key"] for e in data["added"]} == {"dec:a@masto", "dec:b@masto"}
    assert "did not exist" in data["notes"][0]


def test_project_in_a_subfolder_of_the_repository(project: Any, run: Any) -> None:
    repo = Repo(project.root.parent)
    project.calendar(calendar(post("a", text="One")))
    repo.commit("sub")
    project.calendar(calendar(post("a", text="Two")))
    assert [e["key"] for e in diff_json(run)["edited"]] == ["dec:a@masto"]


def test_json_shape(project: Any, repo: Repo, run: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30", text="x")))
    data = diff_json(run)
    assert set(data) == {
        "rev",
        "commit",
        "counts",
        "added",
        "removed",
        "moved",
        "edited",
        "accounts",
        "published",
        "errors",
        "notes",
    }
    assert set(data["accounts"]) == {"added", "dropped", "changed"}
    [removed] = data["removed"]
    assert removed["key"] == "dec:b@masto"
    assert {"key", "post", "calendar", "post_id", "account", "network", "part", "at"} <= set(
        removed
    )
    assert data["rev"] == "HEAD" and len(data["commit"]) == 40


def test_markdown_is_a_pull_request_comment(project: Any, repo: Repo, run: Any) -> None:
    project.calendar(
        calendar(
            post(
                "a", at="2026-12-01 09:30", text="Our winter sale starts Tuesday @someone | `code`"
            ),
            post("c", at="2026-12-05 09:00", text="New | one"),
        )
    )
    result = run("plan", "--diff", "HEAD", "--format", "markdown")
    assert result.exit_code == 0, result.output
    md = result.stdout
    lines = md.splitlines()
    assert lines[0] == "<!-- cmctl-plan-diff -->"
    assert lines[1].startswith("### cmctl plan: `HEAD`")
    assert "**1 added · 1 removed · 0 moved · 1 edited**" in md
    assert "#### Added (1)" in md and "#### Removed (1)" in md and "#### Edited (1)" in md
    assert "| `dec:c@masto` | 2026-12-05 09:00 CET | `New \\| one` |" in md
    assert "```text\nOur winter sale starts [-Monday-]{+Tuesday @someone | `code`+}\n```" in md


def test_drafts_do_not_count_unless_asked(project: Any, repo: Repo, run: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Our winter sale starts Monday"),
            post("b", at="2026-12-02 10:00", text="Second post", status="draft"),
        )
    )
    assert [e["key"] for e in diff_json(run)["removed"]] == ["dec:b@masto"]
    result = run("plan", "--diff", "HEAD", "--json", "--drafts")
    assert as_json(result)["removed"] == []


def test_errors_in_the_working_tree_exit_1_with_the_diff(
    project: Any, repo: Repo, run: Any
) -> None:
    project.calendar(calendar(post("a", text="x", accounts=["nobody"])))
    result = run("plan", "--diff", "HEAD")
    assert result.exit_code == 1
    assert "error(s) in the calendars" in result.stdout


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(run: Any, shell: str) -> None:
    result = run("completion", shell)
    assert result.exit_code == 0, result.output
    assert "_CMCTL_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_completion_refuses_an_unknown_shell(run: Any) -> None:
    result = run("completion", "tcsh")
    assert result.exit_code == 2


def test_pre_commit_hooks_file_names_cmctl_validate() -> None:
    import re

    import yaml

    [hook] = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "cmctl-validate"
    assert hook["entry"] == "cmctl validate"
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    for path in ("cmctl.yaml", "calendars/dec.yaml", "sub/calendars/2027/jan.yml"):
        assert files.search(path), path
    assert not files.search("README.md")


@pytest.mark.parametrize("where", ["examples", "init"])
def test_the_workflow_validates_and_comments_the_plan_diff(where: str, tmp_path: Path) -> None:
    import yaml

    from cmctl import plandiff, scaffold

    if where == "examples":
        text = (REPO_ROOT / "examples" / "github-actions.yml").read_text()
    else:
        files = scaffold.project_files(
            today=date(2027, 1, 1), monday=date(2027, 1, 4), timezone="UTC"
        )
        text = files[scaffold.WORKFLOW].decode()
    workflow = yaml.safe_load(text)
    validate = [s.get("run", "") for s in workflow["jobs"]["validate"]["steps"]]
    assert "cmctl validate --format github" in validate
    job = workflow["jobs"]["plan-diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'cmctl plan --diff "$BASE" --format markdown' in script
    assert plandiff.MARKER in script  # it finds its own comment again
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    assert all(u.startswith("actions/") for u in uses)  # no third-party action
    assert {"GH_TOKEN": "${{ github.token }}"}.items() <= job["steps"][-1]["env"].items()
