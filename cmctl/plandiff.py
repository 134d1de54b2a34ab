"""`cmctl plan --diff REV`: what a change to the calendars does to the plan.

The jobs compiled at a git revision are compared with the working tree's, by job key
(the identity that survives edits of text and time, see cmctl.compile):

- added / removed: a key on one side only (a draft counts as absent: it never publishes,
  unless ``drafts`` is asked for);
- moved: the same key at another time;
- edited: the same key with another content hash (text, media bytes and alt text, title,
  link, tags), with a word diff of the text;
- accounts added, dropped or moved to another network in cmctl.yaml.

The old side is read with git alone, never from the working tree (no checkout, no stash):
the project's folder at REV (cmctl.yaml, calendars *and media files*, so that content
hashes are the ones that revision would have sent) is extracted from ``git archive`` into
a temporary folder and compiled there by the project loader, like any project. Hidden
files and folders (.env, the state folder) are never read as calendars there either.

What the ledger says of a changed job is attached to it: an already published job is not
published again by an edit or a move, and removing it does not delete the post.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmctl.errors import CmctlError, UsageError

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.config import Config

MARKER = "<!-- cmctl-plan-diff -->"  # a workflow finds (and updates) its own comment by it
_TOKEN = re.compile(r"\s+|[^\s]+")
_GIT_TIMEOUT = 120


# ------------------------------------------------------------------------------- git
def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("--diff needs git, which is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} took longer than {_GIT_TIMEOUT}s") from None
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
    return done


def repository_top(folder: Path) -> Path:
    """The top of the git working tree holding ``folder``; a UsageError when there is none."""
    done = _git(folder, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise UsageError(
            f"--diff: {folder} is not in a git repository",
            hint="run `git init` and commit the calendars, or run cmctl in the repository",
        )
    return Path(os.fsdecode(done.stdout.strip())).resolve()


def resolve_revision(top: Path, rev: str) -> str:
    """The commit ``rev`` names (a branch, tag, sha, origin/main, HEAD~2...)."""
    if not rev or rev.startswith("-") or "\0" in rev:
        raise UsageError(f"--diff: {rev!r} is not a git revision")
    done = _git(
        top,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{rev}^{{commit}}",
        check=False,
    )
    if done.returncode != 0:
        raise UsageError(
            f"--diff: unknown revision {rev!r} in {top}",
            hint="name a branch, tag or commit (git log --oneline); in CI fetch it first "
            "(actions/checkout with fetch-depth: 0)",
        )
    return done.stdout.decode().strip()


# ----------------------------------------------------------------------------- sides
@dataclass(slots=True)
class Side:
    """One side of the comparison: its jobs by key and its accounts (name → network)."""

    jobs: dict[str, Job]
    accounts: dict[str, str]
    errors: int = 0
    timezone: str | None = None


def side(jobs: Iterable[Job], config: Config, errors: int, drafts: bool) -> Side:
    return Side(
        {j.key: j for j in jobs if drafts or j.status != "draft"},
        {name: a.network for name, a in config.accounts.items()},
        errors,
        config.timezone,
    )


def old_side(
    config: Config, rev: str, now: datetime, *, drafts: bool, notes: list[str]
) -> tuple[Side, str]:
    """The jobs and accounts of the project at ``rev``, and the commit it names.

    ``config`` is the working tree's: its folder is looked up at ``rev``."""
    from cmctl import config as config_mod
    from cmctl.ledger.memory import queue_memory
    from cmctl.project import open_project

    remembered = queue_memory(config.state_dir)  # queued posts: placed as today's are
    top = repository_top(config.root)
    commit = resolve_revision(top, rev)
    root = config.root.resolve()
    try:
        folder = root.relative_to(top).as_posix()
    except ValueError:
        raise UsageError(f"--diff: {root} is outside the repository {top}") from None
    config_at = f"{'' if folder == '.' else folder + '/'}{config.path.name}"
    if _git(top, "cat-file", "-e", f"{commit}:{config_at}", check=False).returncode != 0:
        notes.append(f"{config_at} did not exist at {rev}: every job is new")
        return Side({}, {}), commit
    with tempfile.TemporaryDirectory(prefix="cmctl-diff-") as tmp:
        base = Path(tmp).resolve()
        archive = base / "rev.tar"
        with archive.open("wb") as out:
            args = ["archive", "--format=tar", commit]
            if folder != ".":
                args += ["--", folder]
            done = subprocess.run(
                ["git", *args],
                cwd=top,
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            raise UsageError(f"git archive failed: {done.stderr.decode('utf-8', 'replace')}")
        tree = base / "tree"
        _extract(archive, tree)
        archive.unlink()
        old_root = tree if folder == "." else tree / folder
        try:
            old = config_mod.load(old_root / config.path.name)
        except CmctlError as exc:
            notes.append(f"{config_at} at {rev} is not valid ({exc.message}): every job is new")
            return Side({}, {}), commit
        old.state_dir = base / "no-state"  # never created: no cache, no ledger read
        try:
            project = open_project(old, now=now, workers=1, memory=remembered)
        except UsageError as exc:  # no calendar file at all then
            notes.append(f"at {rev}: {exc.message}")
            return side([], old, 0, drafts), commit
        if project.report.errors:
            notes.append(
                f"the calendars at {rev} have {project.report.errors} error(s): "
                "posts of a file that did not load show as added"
            )
        return side(project.jobs, old, project.report.errors, drafts), commit


def _extract(archive: Path, into: Path) -> None:
    """Extract ``git archive``'s tar safely: regular files and folders only, inside ``into``."""
    into.mkdir()
    with tarfile.open(archive) as tar:
        for member in tar:
            if not (member.isfile() or member.isdir()):
                continue  # links (and anything else) are not followed out of the tree
            try:
                tar.extract(member, into, filter="data")
            except (tarfile.FilterError, OSError):
                continue


# ------------------------------------------------------------------------------ diff
@dataclass(slots=True)
class PlanDiff:
    rev: str
    commit: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    edited: list[dict[str, Any]] = field(default_factory=list)
    accounts_added: list[dict[str, Any]] = field(default_factory=list)
    accounts_dropped: list[dict[str, Any]] = field(default_factory=list)
    accounts_changed: list[dict[str, Any]] = field(default_factory=list)
    errors: int = 0  # in the working tree's calendars
    notes: list[str] = field(default_factory=list)

    @property
    def published(self) -> list[str]:
        """Keys of changed jobs the ledger says were already published."""
        keys: dict[str, None] = {}
        for entry in (*self.removed, *self.moved, *self.edited):
            if entry["state"] == "published":
                keys.setdefault(entry["key"], None)
        return list(keys)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "moved": len(self.moved),
            "edited": len(self.edited),
            "accounts_added": len(self.accounts_added),
            "accounts_dropped": len(self.accounts_dropped),
            "accounts_changed": len(self.accounts_changed),
            "published": len(self.published),
        }

    @property
    def empty(self) -> bool:
        return not any(v for k, v in self.counts().items() if k != "published")

    def as_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "commit": self.commit,
            "counts": self.counts(),
            "added": self.added,
            "removed": self.removed,
            "moved": self.moved,
            "edited": self.edited,
            "accounts": {
                "added": self.accounts_added,
                "dropped": self.accounts_dropped,
                "changed": self.accounts_changed,
            },
            "published": self.published,
            "errors": self.errors,
            "notes": self.notes,
        }


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``old`` → ``new`` as runs of ('=', kept), ('-', removed) and ('+', added) text,
    compared word by word (spaces and line breaks are words too)."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    runs: list[tuple[str, str]] = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if runs and runs[-1][0] == op:
            runs[-1] = (op, runs[-1][1] + text)
        else:
            runs.append((op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("=", "".join(a[i1:i2]))
        else:
            put("-", "".join(a[i1:i2]))
            put("+", "".join(b[j1:j2]))
    return runs


def plain_word_diff(runs: list[tuple[str, str]]) -> str:
    """git's ``--word-diff=plain`` notation: ``[-removed-]{+added+}``."""
    return "".join(
        text if op == "=" else f"[-{text}-]" if op == "-" else f"{{+{text}+}}" for op, text in runs
    )


def _entry(job: Job, states: Mapping[str, Any]) -> dict[str, Any]:
    state = states.get(job.key)
    return {
        "key": job.key,
        "post": job.post_key,
        "calendar": job.calendar,
        "post_id": job.post_id,
        "account": job.account,
        "network": job.network,
        "part": job.part,
        "at": job.at.isoformat(),
        "local": job.local.isoformat(),
        "when": _when(job.local),
        "text": job.text,
        "state": state.state if state is not None else None,
        "url": state.url if state is not None else None,
    }


def _media(job: Job) -> list[tuple[str, str]]:
    return [(m.path.name, m.alt or "") for m in job.media]


def compare(old: Side, new: Side, states: Mapping[str, Any], *, rev: str, commit: str) -> PlanDiff:
    """The plan diff of ``old`` → ``new``; ``states``: the ledger's states by job key."""
    diff = PlanDiff(rev, commit, errors=new.errors)
    for key, job in new.jobs.items():
        before = old.jobs.get(key)
        if before is None:
            diff.added.append(_entry(job, states))
            continue
        if before.at != job.at:
            entry = _entry(job, states)
            entry["from"] = {
                "at": before.at.isoformat(),
                "local": before.local.isoformat(),
                "when": _when(before.local),
            }
            entry["to"] = {
                "at": job.at.isoformat(),
                "local": job.local.isoformat(),
                "when": _when(job.local),
            }
            diff.moved.append(entry)
        if before.content_hash != job.content_hash or before.text != job.text:
            entry = _entry(job, states)
            entry["text_before"] = before.text
            entry["word_diff"] = [list(run) for run in word_diff(before.text, job.text)]
            changed = []
            if before.text != job.text:
                changed.append("text")
            if _media(before) != _media(job):
                changed.append("media")
            if (before.title, before.link, before.tags) != (job.title, job.link, job.tags):
                changed.append("fields")
            if not changed:  # same names and words: a media file's bytes changed
                changed.append("media")
            entry["changed"] = changed
            entry["media_before"] = [list(m) for m in _media(before)]
            entry["media"] = [list(m) for m in _media(job)]
            diff.edited.append(entry)
    diff.removed = [_entry(j, states) for k, j in old.jobs.items() if k not in new.jobs]
    for name, network in sorted(new.accounts.items()):
        was = old.accounts.get(name)
        if was is None:
            diff.accounts_added.append({"account": name, "network": network})
        elif was != network:
            diff.accounts_changed.append({"account": name, "network": network, "was": was})
    for name, network in sorted(old.accounts.items()):
        if name not in new.accounts:
            diff.accounts_dropped.append({"account": name, "network": network})
    for bucket in (diff.added, diff.removed, diff.moved, diff.edited):
        bucket.sort(key=lambda e: (e["at"], e["key"]))
    return diff


def plan_diff(
    config: Config,
    jobs: Iterable[Job],
    errors: int,
    states: Mapping[str, Any],
    rev: str,
    now: datetime,
    *,
    drafts: bool = False,
) -> PlanDiff:
    """Compare the working tree's compiled ``jobs`` with those of ``rev``."""
    notes: list[str] = []
    old, commit = old_side(config, rev, now, drafts=drafts, notes=notes)
    diff = compare(old, side(jobs, config, errors, drafts), states, rev=rev, commit=commit)
    diff.notes = notes
    return diff


# ---------------------------------------------------------------------------- render
PUBLISHED_NOTE = {
    "moved": "already published: moving it will not publish it again",
    "edited": "already published: the edit will not be published again",
    "removed": "already published: removing it does not delete the post",
}


def _when(moment: datetime) -> str:
    """A local time as people read it: 2026-12-01 09:30 CET."""
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or ''}".rstrip()


def _first_line(text: str, width: int = 60) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _summary(diff: PlanDiff) -> list[str]:
    c = diff.counts()
    parts = [
        f"{c['added']} added",
        f"{c['removed']} removed",
        f"{c['moved']} moved",
        f"{c['edited']} edited",
    ]
    for label, n in (
        ("account added", c["accounts_added"]),
        ("account dropped", c["accounts_dropped"]),
        ("account changed", c["accounts_changed"]),
        ("already published", c["published"]),
    ):
        if n:
            parts.append(f"{n} {label}")
    return parts


def render_text(diff: PlanDiff) -> str:
    lines = [
        f"Plan diff: {diff.rev} ({diff.commit[:7]}) → working tree",
        ", ".join(_summary(diff)),
    ]
    if diff.empty:
        lines.append("No change to the plan.")
    if diff.accounts_added or diff.accounts_dropped or diff.accounts_changed:
        lines += ["", "Accounts"]
        lines += [f"  + {a['account']} ({a['network']})" for a in diff.accounts_added]
        lines += [f"  - {a['account']} ({a['network']})" for a in diff.accounts_dropped]
        lines += [
            f"  ~ {a['account']} ({a['was']} → {a['network']})" for a in diff.accounts_changed
        ]

    def note(kind: str, entry: dict[str, Any]) -> list[str]:
        return [f"      ({PUBLISHED_NOTE[kind]})"] if entry["state"] == "published" else []

    if diff.added:
        lines += ["", "Added"]
        for e in diff.added:
            lines.append(f"  + {e['key']}  {e['when']}  {_first_line(e['text'])}")
    if diff.removed:
        lines += ["", "Removed"]
        for e in diff.removed:
            lines.append(f"  - {e['key']}  {e['when']}  {_first_line(e['text'])}")
            lines += note("removed", e)
    if diff.moved:
        lines += ["", "Moved"]
        for e in diff.moved:
            lines.append(f"  ~ {e['key']}  {e['from']['when']} → {e['to']['when']}")
            lines += note("moved", e)
    if diff.edited:
        lines += ["", "Edited"]
        for e in diff.edited:
            lines.append(f"  ~ {e['key']}  {e['when']}  ({', '.join(e['changed'])})")
            if "text" in e["changed"]:
                words = plain_word_diff([(op, t) for op, t in e["word_diff"]])
                lines += [f"      {line}" for line in words.splitlines()]
            lines += note("edited", e)
    if diff.notes:
        lines += ["", *(f"note: {n}" for n in diff.notes)]
    if diff.errors:
        lines += ["", f"✗ {diff.errors} error(s) in the calendars: run `cmctl validate`"]
    return "\n".join(lines) + "\n"


def _code(text: str, *, cell: bool = False) -> str:
    """``text`` as an inline code span (no markdown, no @mention inside), one line."""
    text = " ".join(text.split())
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if cell else span


def _block(text: str) -> list[str]:
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *text.splitlines(), fence]


def render_markdown(diff: PlanDiff) -> str:
    """The diff as a pull request comment (GitHub markdown), first line ``MARKER``."""
    out = [
        MARKER,
        f"### cmctl plan: `{diff.rev}` ({diff.commit[:7]}) → this change",
        "",
        "**" + " · ".join(_summary(diff)) + "**",
    ]
    if diff.empty:
        out += ["", "No change to the plan."]
    if diff.errors:
        out += [
            "",
            f"> [!WARNING]\n> The calendars have {diff.errors} error(s): see the "
            "`cmctl validate` check.",
        ]
    if diff.accounts_added or diff.accounts_dropped or diff.accounts_changed:
        out += ["", "#### Accounts", "", "| | Account | Network |", "|---|---|---|"]
        out += [
            f"| added | {_code(a['account'], cell=True)} | {a['network']} |"
            for a in diff.accounts_added
        ]
        out += [
            f"| dropped | {_code(a['account'], cell=True)} | {a['network']} |"
            for a in diff.accounts_dropped
        ]
        out += [
            f"| changed | {_code(a['account'], cell=True)} | {a['was']} → {a['network']} |"
            for a in diff.accounts_changed
        ]

    def flag(kind: str, entry: dict[str, Any]) -> str:
        return f" ⚠️ {PUBLISHED_NOTE[kind]}" if entry["state"] == "published" else ""

    for title, entries, kind in (
        ("Added", diff.added, "added"),
        ("Removed", diff.removed, "removed"),
    ):
        if not entries:
            continue
        out += ["", f"#### {title} ({len(entries)})", "", "| Job | When | Text |", "|---|---|---|"]
        for e in entries:
            note = flag(kind, e) if kind == "removed" else ""
            out.append(
                f"| {_code(e['key'], cell=True)}{note} | {e['when']} | "
                f"{_code(_first_line(e['text']), cell=True)} |"
            )
    if diff.moved:
        out += ["", f"#### Moved ({len(diff.moved)})", "", "| Job | From | To |", "|---|---|---|"]
        for e in diff.moved:
            out.append(
                f"| {_code(e['key'], cell=True)}{flag('moved', e)} | "
                f"{e['from']['when']} | {e['to']['when']} |"
            )
    if diff.edited:
        out += ["", f"#### Edited ({len(diff.edited)})"]
        out += ["", "Removed words are shown `[-like this-]`, added ones `{+like this+}`."]
        for e in diff.edited:
            out += ["", f"{_code(e['key'])} · {e['when']} · {', '.join(e['changed'])}"]
            if e["state"] == "published":
                out += ["", f"⚠️ {PUBLISHED_NOTE['edited']}"]
            if "text" in e["changed"]:
                out += ["", *_block(plain_word_diff([(op, t) for op, t in e["word_diff"]]))]
            if e["media_before"] != e["media"]:
                out += ["", f"media: {_code(str(e['media_before']))} → {_code(str(e['media']))}"]
    if diff.notes:
        out += ["", *(f"- {n}" for n in diff.notes)]
    out += ["", "<sub>Posted by `cmctl plan --diff`. Job keys are `calendar:post@account`.</sub>"]
    return "\n".join(out) + "\n"
