"""Hostile input: files, dates, aliases and options that must end in a clean error.

Every case here once ended in a traceback (exit 70), a hang or memory exhaustion.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post
from tests.test_validate import diags, png, where


# ---------------------------------------------------------------------- media files
@contextlib.contextmanager
def make_fifo(path: Path) -> Iterator[Path]:
    """A FIFO at ``path``. If a regression opens it, a writer unblocks it after 15 s."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    done = threading.Event()

    def unblock() -> None:
        if not done.wait(15):
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_RDWR))  # a writer: the blocked reader sees EOF

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join()


@pytest.fixture
def fifo(project: Any) -> Iterator[Path]:
    with make_fifo(project.root / "calendars" / "pipe.png") as path:
        yield path


def test_media_fifo_is_refused_without_blocking(project: Any, run: Any, fifo: Path) -> None:
    project.calendar(calendar(post("a", media=[{"path": "pipe.png", "alt": "x"}])))
    started = time.monotonic()
    code, d = diags(run)
    assert time.monotonic() - started < 10
    assert code == 1
    [problem] = [x for x in d if x["rule"] == "media-path"]
    assert "not a regular file" in problem["message"]
    # every other command too (plan compiles the media digests)
    assert run("plan").exit_code == 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_media_device_is_refused_before_any_read(project: Any, run: Any) -> None:
    # /dev/zero is outside the project; through a link inside it, it is not a regular file
    os.symlink("/dev/zero", project.root / "zero.png")
    project.calendar(
        calendar(
            post("a", media=[{"path": "/dev/zero", "alt": "x"}]),
            post("b", text="Salut", media=[{"path": "../zero.png", "alt": "x"}]),
        )
    )
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path", "media-path"]


@pytest.mark.parametrize(
    "name", ["x" * 300 + ".png", "a\0b.png", "a\x1b[31m.png", "d/" * 600 + "a.png"]
)
def test_media_names_cmctl_cannot_use_are_errors(project: Any, run: Any, name: str) -> None:
    project.calendar(
        calendar(post("a", media=[{"path": name, "alt": "x"}]), post("ok", at="2026-12-02 10:00"))
    )
    result = run("validate", "--format", "json")
    assert result.exit_code == 1, result.output
    d = as_json(result)["diagnostics"]
    assert [x["rule"] for x in d] == ["media-path"]
    assert where(d, "media-path")[0][0] == 8
    plan = run("plan", "--json")  # compiling (media digests) ends cleanly too
    assert plan.exit_code == 1
    assert "ok" in [j["post"] for j in as_json(plan)["jobs"]]


@pytest.mark.parametrize("target", [".env", "cmctl.yaml", ".cmctl/ledger.db", ".git/config"])
def test_media_never_names_dotfiles_config_or_state(project: Any, run: Any, target: str) -> None:
    if target == ".env":
        project.write(target, "A=b\n")
    elif target != "cmctl.yaml":
        project.write(target, png())  # even when it looks like an image
    project.calendar(calendar(post("a", media=[{"path": f"../{target}", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path"]
    # nor through a link that looks harmless
    os.symlink(project.root / target, project.root / "calendars" / "cover.png")
    project.calendar(calendar(post("a", media=[{"path": "cover.png", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path"]
    assert "symbolic link" in d[0]["message"]


def test_open_checked_refuses_what_it_must(tmp_path: Path) -> None:
    from cmctl.media import MediaProblem, inspect, open_checked, read_checked

    root = tmp_path / "project"
    (root / "img").mkdir(parents=True)
    image = root / "img" / "a.png"
    image.write_bytes(png())
    assert inspect(image, root).mime_type == "image/png"
    data, found = read_checked(image, root, 10_000)
    assert data == image.read_bytes() and found.size == len(data)
    with pytest.raises(MediaProblem, match="at most"):
        read_checked(image, root, 10)
    with pytest.raises(MediaProblem, match="not a regular file"):
        inspect(root / "img", root)
    with pytest.raises(MediaProblem, match="does not exist"):
        inspect(root / "nope.png", root)
    (tmp_path / "out.png").write_bytes(png())
    with pytest.raises(MediaProblem, match="outside"):
        inspect(tmp_path / "out.png", root)
    with (
        pytest.raises(MediaProblem, match="control character"),
        open_checked(root / "a\nb.png", root),
    ):
        pass


def _swap_for_env(root: Path, image: Path) -> None:
    (root / ".env").write_text("MASTO_TOKEN=s3cr3t-token-value\n")
    image.unlink()
    os.symlink(root / ".env", image)


def test_mastodon_does_not_upload_a_file_swapped_for_a_link(tmp_path: Path) -> None:
    """The daemon loaded the calendar; then the image became a link to .env."""
    import httpx

    from cmctl.networks.base import Attachment, Permanent
    from cmctl.networks.http import Http
    from cmctl.networks.mastodon import Mastodon
    from tests.networks.helpers import Recorder, make_outgoing

    root = tmp_path / "project"
    root.mkdir()
    image = root / "a.png"
    image.write_bytes(png())
    item = Attachment(image, "alt", root)
    _swap_for_env(root, image)
    server = Recorder(lambda request: httpx.Response(200, json={"id": "1", "url": "u"}))
    masto = Mastodon(
        "masto",
        {"instance": "https://m.example", "token": "t0k"},
        Http(transport=httpx.MockTransport(server)),
        tmp_path / "state",
    )
    with pytest.raises(Permanent, match="hidden or configuration file"):
        masto.publish(make_outgoing("dec:launch@masto", "hi", media=(item,)))
    assert server.requests == []


def test_bluesky_does_not_upload_a_file_swapped_for_a_link(tmp_path: Path) -> None:
    from cmctl.networks.base import Attachment, Permanent
    from cmctl.networks.bluesky import Bluesky

    root = tmp_path / "project"
    root.mkdir()
    image = root / "a.png"
    image.write_bytes(png())
    item = Attachment(image, "alt", root)
    _swap_for_env(root, image)
    bsky = Bluesky.__new__(Bluesky)
    bsky.http = None  # type: ignore[assignment]  # never reached
    with pytest.raises(Permanent, match="hidden or configuration file"):
        bsky._upload(item, {})


# ---------------------------------------------------------------------- dates and durations
@pytest.mark.parametrize(
    ("tz", "at"),
    [
        ("UTC", "9999-12-31 23:30"),
        ("America/New_York", "9999-12-31 23:30"),
        ("Asia/Tokyo", "0001-01-01 00:30"),
        ("UTC", "1999-12-31 23:59"),
        ("UTC", "2200-01-01 00:00"),
        ("Pacific/Kiritimati", "0001-01-01T00:30+14:00"),
        ("UTC", "9999-12-31T23:59-12:00"),
    ],
)
def test_dates_out_of_range_are_errors_at_their_position(
    project: Any, run: Any, tz: str, at: str
) -> None:
    project.calendar(calendar(post("far", at=at), post("ok", at="2026-12-02 10:00"), tz=tz))
    code, d = diags(run)
    assert code == 1
    assert where(d, "time-range") == [(6, 9, "error")]
    assert "between 2000 and 2199" in d[0]["message"]


@pytest.mark.parametrize(
    "value",
    ["99999999d", "366d", "8761h", "100000000000000000000000s", "9" * 5000 + "s", "364d24h1s"],
)
def test_durations_out_of_range_are_errors(project: Any, run: Any, value: str) -> None:
    project.calendar(
        "timezone: UTC\ndefaults:\n  accounts: [masto]\n  catch_up: 1h\n"
        "posts:\n" + post("a", catch_up=value)
    )
    code, d = diags(run)
    assert code == 1
    assert where(d, "duration-range") == [(9, 15, "error")]
    project.calendar(
        f"timezone: UTC\ndefaults:\n  accounts: [masto]\n  catch_up: {value}\nposts:\n" + post("a")
    )
    code, d = diags(run)
    assert code == 1 and where(d, "duration-range") == [(4, 13, "error")]


def test_config_catch_up_out_of_range_is_a_config_error(project: Any, run: Any) -> None:
    project.config("defaults:\n  timezone: UTC\n  catch_up: 100000000000000000000000s\n")
    result = run("validate")
    assert result.exit_code == 2
    assert "too long" in result.stderr and "internal error" not in result.stderr


def test_the_edges_of_the_range_compute_everywhere(project: Any, run: Any, now: Any) -> None:
    """The latest date in the zone with the largest offset, the longest catch-up, a
    thread: validate, plan, agenda, status, publish all work."""
    project.config(
        "accounts:\n  feed:\n    network: feed\n    path: public/feed.xml\n"
        "defaults:\n  timezone: Pacific/Kiritimati\n  catch_up: 365d\n"
    )
    project.calendar(
        calendar(
            post("last", at="2199-12-31 23:59", thread=["two"]),
            post("latest", at="2199-12-31T23:59-12:00"),
            post("first", at="2000-01-01 00:00"),
            accounts="[feed]",
            tz="Pacific/Kiritimati",
        )
    )
    assert run("validate").exit_code == 0  # "first" is in the past: a warning
    for args in (
        ("plan",),
        ("plan", "--from", "2000-01-01", "--to", "2199-12-31"),
        ("agenda", "--date", "2199-12-31"),
        ("agenda", "--week", "--date", "2199-12-31"),
        ("agenda", "--date", "2000-01-01"),
        ("publish",),
        ("status",),
    ):
        result = run(*args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert "internal error" not in result.stderr
    now.move_to("2199-12-31T12:00:00Z")
    for args in (("publish",), ("status",), ("plan",)):
        result = run(*args)
        assert "internal error" not in result.stderr, (args, result.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--to", "9999-12-31"),
        ("plan", "--from", "0001-01-01"),
        ("plan", "--to", "9999-12-31 23:59"),
        ("agenda", "--date", "9999-12-31"),
        ("agenda", "--week", "--date", "0001-01-01"),
        ("plan", "a\0b"),
        ("agenda", "x" * 300),
    ],
)
def test_cli_dates_out_of_range_exit_2(project: Any, run: Any, args: tuple[str, ...]) -> None:
    project.calendar(calendar(post("a")))
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "between 2000 and 2199" in result.stderr or "no such file" in result.stderr


# ---------------------------------------------------------------------- files the CLI writes
@pytest.mark.parametrize(
    "target", ["missing/folder/schema.json", "/dev/full", "a\0b.json", ".", "x" * 300]
)
def test_schema_output_errors_exit_2(project: Any, run: Any, target: str) -> None:
    if target == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    result = run("schema", "-o", target)
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.stderr


@pytest.mark.parametrize("state", ['"a\\0b"', "x" * 300, '"tab\\there"', "/dev/full/state"])
def test_unusable_state_folder_is_a_clean_error(project: Any, run: Any, state: str) -> None:
    project.config(
        f"state: {state}\naccounts:\n  feed:\n    network: feed\n"
        "    path: feed.xml\ndefaults:\n  timezone: UTC\n"
    )
    project.calendar(calendar(post("a", at="2026-11-20 12:00"), accounts="[feed]"))
    for args in (("validate",), ("plan",), ("status",), ("publish",)):
        result = run(*args)
        assert "internal error" not in result.stderr
        if args == ("publish",) or not state.startswith("/dev"):
            assert result.exit_code == 2, (args, result.output)


# ---------------------------------------------------------------------- what is a calendar
SECRET = "s3cr3t-value-never-shown"


@pytest.mark.parametrize("glob", ["*", "**/*", ".*", "*.yaml", "**/.*"])
def test_calendar_globs_never_read_config_dotfiles_or_state(
    project: Any, run: Any, glob: str
) -> None:
    project.config(
        f"calendars: {json.dumps(glob)}\n"
        "accounts:\n  masto:\n    network: mastodon\n"
        "    instance: https://m.example\n    token: ${MASTO_TOKEN}\n"
        f"    # {SECRET}\ndefaults:\n  timezone: UTC\n"
    )
    project.write(".env", f"MASTO_TOKEN={SECRET}\n")
    project.write(".secrets.yaml", f"token: {SECRET}\n")
    project.write(".cmctl/notes.yaml", f"{SECRET}: [\n")
    project.write("dec.yaml", calendar(post("a")))
    result = run("validate")
    assert SECRET not in result.output
    assert "internal error" not in result.stderr
    result = run("validate", ".")
    assert SECRET not in result.output
    result = run("validate", "cmctl.yaml")
    assert result.exit_code == 2 and SECRET not in result.output


def test_dotenv_that_is_not_a_regular_file_is_a_clean_error(project: Any, run: Any) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    project.calendar(calendar(post("a")))
    with make_fifo(project.root / ".env"):
        started = time.monotonic()
        result = run("validate")
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert ".env" in result.stderr and "not a regular file" in result.stderr
    os.unlink(project.root / ".env")
    os.mkdir(project.root / ".env")
    assert run("validate").exit_code == 2


def test_calendar_that_is_a_fifo_is_not_read(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a")))
    with make_fifo(project.root / "calendars" / "pipe.yaml"):
        started = time.monotonic()
        assert run("validate").exit_code == 0
        assert time.monotonic() - started < 10


# ---------------------------------------------------------------------- accounts listed twice
def test_an_account_listed_twice_is_an_error(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("a", accounts=["masto", "bsky", "masto"]),
            post("b", at="2026-12-02 10:00"),
            accounts="[bsky, bsky]",
        )
    )
    code, d = diags(run)
    assert code == 1
    assert where(d, "duplicate-account") == [(3, 20, "error"), (8, 33, "error")]
    assert "first at line 8, column 16" in d[1]["message"]


def test_an_account_listed_twice_publishes_once(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  feed:\n    network: feed\n    path: feed.xml\ndefaults:\n  timezone: UTC\n"
    )
    project.calendar(calendar(post("a", at="2026-11-20 11:59"), accounts="[feed, feed]", tz="UTC"))
    result = run("publish")
    assert "internal error" not in result.stderr
    assert result.exit_code in (0, 1)


def test_compile_makes_unique_job_keys_whatever_the_input(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cmctl.calendar.model import Calendar, Content, Pos, Post
    from cmctl.compile import compile_jobs
    from cmctl.config import Account, Config

    pos = Pos("dec.yaml", 1, 1)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    post_ = Post(
        "dec",
        "a",
        at,
        at,
        ("m", "m", "b", "m"),
        Content(text="hi", thread=(), pos=pos),
        {},
        "approved",
        timedelta(hours=1),
        (),
        pos,
        pos,
        pos,
    )
    config = Config(
        tmp_path / "cmctl.yaml",
        tmp_path,
        {"m": Account("m", "mastodon", {}), "b": Account("b", "bluesky", {})},
    )
    jobs = compile_jobs(
        [Calendar("dec", tmp_path / "dec.yaml", "dec.yaml", "UTC", [post_])], config
    )
    keys = [j.key for j in jobs]
    assert keys == ["dec:a@b", "dec:a@m"]


# ---------------------------------------------------------------------- alias amplification
def test_alias_amplification_is_refused_quickly(project: Any, run: Any) -> None:
    big = "x" * 2_000_000
    aliases = "".join(
        f"  - id: p{i}\n    at: 2026-12-01 09:30\n    text: *big\n" for i in range(900)
    )
    project.calendar(
        f"timezone: UTC\ndefaults:\n  accounts: [masto]\n  text: &big {big}\nposts:\n{aliases}"
    )
    started = time.monotonic()
    code, d = diags(run)
    assert time.monotonic() - started < 20
    assert code == 1
    assert [(x["rule"], x["line"]) for x in d] == [("structure", 8)]
    assert "aliases expand to more than" in d[0]["message"]


def test_nested_alias_trees_are_counted_whole(project: Any) -> None:
    from cmctl.yamlsrc import YamlProblem, parse

    lines = ["a0: &a0 [" + ", ".join(["'" + "y" * 100 + "'"] * 10) + "]"]
    for i in range(1, 8):  # each level: ten aliases of the level below (10^7 scalars)
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(YamlProblem, match="aliases expand"):
        parse("\n".join(lines))
    with pytest.raises(YamlProblem, match="loop"):
        parse("posts: &a\n  - *a\n")
    # ordinary use of aliases is fine
    doc = parse("d: &t {text: hello}\nposts: [*t, *t, *t]\n")
    assert doc.root is not None


def test_recursive_alias_validates_cleanly(project: Any, run: Any) -> None:
    project.calendar("timezone: UTC\nposts: &a\n  - *a\n")
    code, d = diags(run)
    assert code == 1 and d[0]["rule"] == "structure"


# ---------------------------------------------------------------------- per-field limits
def test_alt_text_over_the_network_limit(project: Any, run: Any) -> None:
    project.write("calendars/a.png", png())
    long_alt = "a" * 1501
    project.calendar(
        calendar(
            post("a", media=[{"path": "a.png", "alt": long_alt}]),
            post("b", at="2026-12-02 10:00", media=[{"path": "a.png", "alt": "b" * 1500}]),
            accounts="[masto, bsky]",
        )
    )
    code, d = diags(run)
    assert code == 1
    [problem] = d
    assert problem["rule"] == "alt-text-length" and problem["line"] == 8
    assert "1501/1500 characters for mastodon" in problem["message"]
    # X: 1000; in a variant's media too
    project.calendar(
        calendar(
            post("a", variants={"x": {"media": [{"path": "a.png", "alt": "c" * 1001}]}}),
            accounts="[masto, xacct]",
        )
    )
    code, d = diags(run)
    assert code == 1 and "1001/1000 characters for x" in d[0]["message"]


def test_alt_text_limit_follows_the_instance(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n"
        "    instance: https://m.example\n    token: ${T}\n"
        "    description_limit: 3000\ndefaults:\n  timezone: UTC\n"
    )
    project.write("calendars/a.png", png())
    project.calendar(calendar(post("a", media=[{"path": "a.png", "alt": "a" * 2500}])))
    assert diags(run) == (0, [])


def test_accounts_check_warns_when_description_limit_exceeds_the_instance(tmp_path: Path) -> None:
    import httpx

    from cmctl.networks.http import Http
    from cmctl.networks.mastodon import Mastodon
    from tests.networks.helpers import Recorder

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("verify_credentials"):
            return httpx.Response(200, json={"acct": "brand"})
        return httpx.Response(
            200,
            json={
                "configuration": {
                    "statuses": {"max_characters": 500},
                    "media_attachments": {"description_limit": 1500},
                }
            },
        )

    server = Recorder(answer)
    masto = Mastodon(
        "masto",
        {"instance": "https://m.example", "token": "t0k", "description_limit": 4000},
        Http(transport=httpx.MockTransport(server)),
        tmp_path,
    )
    who = masto.check()
    assert "description_limit is 4000 but the instance allows 1500" in who
    assert [r.url.path for r in server.requests].count("/api/v2/instance") == 1


def test_empty_variant_and_empty_variant_thread_part(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("a", variants={"bluesky": {"text": ""}}),
            post("b", at="2026-12-02 10:00", variants={"masto": {"thread": ["deux", "  "]}}),
            accounts="[masto, bsky]",
        )
    )
    code, d = diags(run)
    assert code == 1
    empties = [(x["line"], x["message"]) for x in d if x["rule"] == "empty"]
    assert len(empties) == 2, d
    assert "account 'bsky'" in empties[0][1]
    assert "thread part 2" in empties[1][1] and "account 'masto'" in empties[1][1]


@pytest.mark.parametrize(
    ("lang", "ok"),
    [
        ("fr", True),
        ("pt-BR", True),
        ("zh-Hant-TW", True),
        ("es-419", True),
        (["fr", "en"], True),
        ("francais", False),
        ("fr_FR", False),
        (["fr", "english"], False),
        ("", False),
    ],
)
def test_lang_must_be_a_bcp47_tag(project: Any, run: Any, lang: Any, ok: bool) -> None:
    project.calendar(calendar(post("a", lang=lang)))
    code, d = diags(run)
    assert code == (0 if ok else 1), d
    if not ok:
        assert "BCP 47" in d[0]["message"]


@pytest.mark.parametrize("command", ["validate", "plan", "agenda"])
def test_a_nul_in_a_path_argument_is_a_usage_error(project: Any, run: Any, command: str) -> None:
    result = run(command, "calendars/a\0b.yaml")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_a_dot_dot_after_a_link_into_the_state_folder_is_not_a_calendar(
    project: Any, run: Any
) -> None:
    """`link/../x.yaml` is where the link's target's parent is (as the OS opens it), not
    where the text says: here, inside the state folder, never read as a calendar."""
    project.calendar(calendar(post("a")))
    project.write(".cmctl/inner/keep", "")
    project.write(".cmctl/x.yaml", f"{SECRET}: [\n")
    os.symlink(project.root / ".cmctl" / "inner", project.root / "calendars" / "in")
    result = run("validate", "calendars/in/../x.yaml")
    assert result.exit_code == 2, result.output
    assert "not a calendar file" in result.stderr and SECRET not in result.output
