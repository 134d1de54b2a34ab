"""`cmctl validate` through the CLI: every rule, with exact positions and exit codes."""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post


def diags(run: Any, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = run("validate", "--format", "json", *args)
    data = as_json(result)
    return result.exit_code, data["diagnostics"]


def where(diagnostics: list[dict[str, Any]], rule: str) -> list[tuple[int, int, str]]:
    return [(d["line"], d["col"], d["severity"]) for d in diagnostics if d["rule"] == rule]


def png(width: int = 4, height: int = 4, pad: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"tEXt", b"c\0" + b"x" * pad)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


# ---------------------------------------------------------------------- a valid calendar
def test_valid_calendar_exits_0_and_summarises(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), post("b", at="2026-12-02 10:00")))
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "1 files, 2 posts, 2 jobs" in result.stdout


# ---------------------------------------------------------------------- YAML and shape
def test_yaml_syntax_error_has_exact_position(project: Any, run: Any) -> None:
    project.calendar("timezone: Europe/Paris\nposts:\n  - id: a\n    at: [2026\n")
    code, d = diags(run)
    assert code == 1
    assert d[0]["rule"] == "yaml-syntax"
    assert (d[0]["line"], d[0]["col"]) == (5, 1)


def test_tab_indentation_points_at_the_tab(project: Any, run: Any) -> None:
    project.calendar("timezone: Europe/Paris\nposts:\n\t- id: a\n")
    code, d = diags(run)
    assert code == 1
    assert (d[0]["line"], d[0]["col"], d[0]["rule"]) == (3, 1, "yaml-syntax")


def test_unknown_key_suggests_the_right_one(project: Any, run: Any) -> None:
    project.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: a\n    at: 2026-12-01 09:30\n"
        "    txet: hello\n    accounts: [masto]\n"
    )
    code, d = diags(run)
    assert code == 1
    [unknown] = [x for x in d if x["rule"] == "unknown-key"]
    assert (unknown["line"], unknown["col"]) == (5, 5)
    assert "did you mean 'text'" in unknown["message"]


def test_wrong_types_are_reported_where_written(project: Any, run: Any) -> None:
    project.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: 2026\n    at: 2026-12-01 09:30\n"
        "    text: {not: text}\n    accounts: masto\n"
    )
    code, d = diags(run)
    assert code == 1
    types = sorted((x["line"], x["col"]) for x in d if x["rule"] == "type")
    assert types == [(3, 9), (5, 11)]
    id_problem = next(x for x in d if x["line"] == 3)
    assert id_problem["hint"] == 'quote it: "2026"'


def test_missing_required_keys(project: Any, run: Any) -> None:
    project.calendar("timezone: Europe/Paris\nposts:\n  - id: a\n    text: hi\n")
    code, d = diags(run)
    assert code == 1
    assert any(x["rule"] == "required" and "'at'" in x["message"] for x in d)


def test_duplicate_yaml_keys_and_duplicate_post_ids(project: Any, run: Any) -> None:
    project.calendar(
        "timezone: Europe/Paris\ndefaults:\n  accounts: [masto]\nposts:\n"
        "  - id: a\n    at: 2026-12-01 09:30\n    text: one\n    text: two\n"
        "  - id: a\n    at: 2026-12-02 09:30\n    text: three\n"
    )
    code, d = diags(run)
    assert code == 1
    assert where(d, "duplicate-key") == [(8, 5, "error")]
    assert where(d, "duplicate-id") == [(9, 9, "error")]
    assert "first at line 5" in next(x for x in d if x["rule"] == "duplicate-id")["message"]


def test_bad_id_slug(project: Any, run: Any) -> None:
    project.calendar(calendar(post("Black Friday")))
    code, d = diags(run)
    assert code == 1
    assert where(d, "value") == [(5, 9, "error")]


def test_every_problem_is_reported_at_once(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("a", at="2026-13-01 09:00"),
            post("b", at="2027-03-28 02:30"),
            post("c", text="x" * 501),
            post("a", at="2026-12-05 10:00"),
        )
    )
    code, d = diags(run)
    assert code == 1
    assert {x["rule"] for x in d} >= {"time", "dst-gap", "length", "duplicate-id"}


# ---------------------------------------------------------------------- times and zones
def test_unknown_time_zone_suggests(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), tz="Europe/Pariss"))
    code, d = diags(run)
    assert code == 1
    [tz] = [x for x in d if x["rule"] == "timezone"]
    assert (tz["line"], tz["col"]) == (1, 11)
    assert "Europe/Paris" in tz["hint"]


@pytest.mark.parametrize(
    ("tz", "at", "rule"),
    [
        ("Europe/Paris", "2027-03-28 02:30", "dst-gap"),
        ("Europe/Paris", "2026-10-25 02:30", "dst-overlap"),
        ("America/New_York", "2027-03-14 02:30", "dst-gap"),
        ("America/New_York", "2026-11-01 01:30", "dst-overlap"),
    ],
)
def test_dst_gap_and_overlap_are_errors(
    project: Any, run: Any, tz: str, at: str, rule: str
) -> None:
    project.calendar(calendar(post("a", at=at), tz=tz))
    code, d = diags(run)
    assert code == 1
    assert where(d, rule) == [(6, 9, "error")]


@pytest.mark.parametrize(
    ("tz", "at", "utc"),
    [
        ("Europe/Paris", "2026-10-25T02:30+02:00", "2026-10-25T00:30:00+00:00"),
        ("Europe/Paris", "2026-10-25T02:30+01:00", "2026-10-25T01:30:00+00:00"),
        ("America/New_York", "2026-11-01T01:30-04:00", "2026-11-01T05:30:00+00:00"),
        ("America/New_York", "2026-11-01T01:30-05:00", "2026-11-01T06:30:00+00:00"),
        ("Europe/Paris", "2027-03-28 03:30", "2027-03-28T01:30:00+00:00"),
    ],
)
def test_offset_resolves_the_overlap(
    project: Any, run: Any, now: Any, tz: str, at: str, utc: str
) -> None:
    now.move_to("2026-06-01T00:00Z")
    project.calendar(calendar(post("a", at=at), tz=tz))
    code, d = diags(run)
    assert code == 0, d
    plan = as_json(run("plan", "--json"))
    assert plan["jobs"][0]["at"] == utc


def test_yaml_timestamp_parsing_does_not_decide(project: Any, run: Any, now: Any) -> None:
    # PyYAML would read this as a naive UTC datetime; cmctl reads it as Paris time.
    project.calendar(calendar(post("a", at="2026-12-01 09:30")))
    assert run("validate").exit_code == 0
    job = as_json(run("plan", "--json"))["jobs"][0]
    assert job["at"] == "2026-12-01T08:30:00+00:00"
    assert job["local"] == "2026-12-01T09:30:00+01:00"


def test_post_in_the_past_is_a_warning(project: Any, run: Any) -> None:
    project.calendar(calendar(post("old", at="2026-11-01 09:30")))
    code, d = diags(run)
    assert code == 0
    assert where(d, "past") == [(6, 9, "warning")]
    assert run("validate", "--strict").exit_code == 1


def test_calendar_without_any_timezone(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n    instance: https://m.example\n"
        "    token: ${T}\n"
    )
    project.calendar("defaults:\n  accounts: [masto]\nposts:\n" + post("a"))
    code, d = diags(run)
    assert code == 1
    assert where(d, "timezone") == [(1, 1, "error")]


# ---------------------------------------------------------------------- accounts
def test_unknown_account_suggests(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), accounts="[mastoo]"))
    code, d = diags(run)
    assert code == 1
    [problem] = [x for x in d if x["rule"] == "unknown-account"]
    assert "did you mean 'masto'" in problem["message"]
    assert (problem["line"], problem["col"]) == (3, 13)


def test_post_without_accounts(project: Any, run: Any) -> None:
    project.calendar("timezone: Europe/Paris\nposts:\n" + post("a"))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["accounts"]


# ---------------------------------------------------------------------- lengths
def test_mastodon_counts_urls_as_23(project: Any, run: Any) -> None:
    url = "https://example.com/" + "a" * 600
    project.calendar(calendar(post("a", text="x" * 470 + " " + url)))
    assert run("validate").exit_code == 0
    project.calendar(calendar(post("a", text="x" * 480 + " " + url)))
    code, d = diags(run)
    assert code == 1
    assert "504/500" in d[0]["message"]


def test_bluesky_counts_graphemes(project: Any, run: Any) -> None:
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 UTF-8 bytes
    project.calendar(calendar(post("a", text=family * 100), accounts="[bsky]"))
    assert run("validate").exit_code == 0
    project.calendar(calendar(post("a", text="é" * 301), accounts="[bsky]"))
    code, d = diags(run)
    assert code == 1
    assert "301/300 graphemes for bluesky" in d[0]["message"]
    assert (d[0]["line"], d[0]["col"]) == (7, 11)


def test_bluesky_byte_limit(project: Any, run: Any) -> None:
    family = "👨‍👩‍👧‍👦"
    project.calendar(calendar(post("a", text=family * 130), accounts="[bsky]"))
    code, d = diags(run)
    assert code == 1
    assert "3250/3000 UTF-8 bytes" in d[0]["message"]


def test_x_weighted_counting(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="日本" * 70), accounts="[xacct]"))
    assert run("validate").exit_code == 0
    project.calendar(calendar(post("a", text="日本" * 70 + "!"), accounts="[xacct]"))
    code, d = diags(run)
    assert code == 1
    assert "281/280" in d[0]["message"]


def test_hashtags_and_link_count_towards_the_limit(project: Any, run: Any) -> None:
    body = "x" * 290
    project.calendar(calendar(post("a", text=body), accounts="[bsky]"))
    assert run("validate").exit_code == 0
    project.calendar(
        calendar(post("a", text=body, hashtags=["cm", "community"]), accounts="[bsky]")
    )
    code, d = diags(run)
    assert code == 1
    assert "306/300 graphemes" in d[0]["message"]  # 290 + blank line + "#cm #community"
    project.calendar(
        calendar(post("a", text=body, link="https://example.org/a"), accounts="[bsky]")
    )
    code, d = diags(run)
    assert "305/300 graphemes" in d[0]["message"]  # shown as example.org/a on Bluesky


def test_variant_is_checked_against_its_own_network(project: Any, run: Any) -> None:
    long = "x" * 400  # fine on Mastodon (500), too long for Bluesky (300)
    project.calendar(calendar(post("a", text=long), accounts="[masto, bsky]"))
    code, d = diags(run)
    assert code == 1 and [x["rule"] for x in d] == ["length"]
    project.calendar(
        calendar(
            post("a", text=long, variants={"bluesky": {"text": "court"}}), accounts="[masto, bsky]"
        )
    )
    assert run("validate").exit_code == 0
    project.calendar(
        calendar(
            post("a", text="ok", variants={"bsky": {"text": "y" * 350}}), accounts="[masto, bsky]"
        )
    )
    code, d = diags(run)
    assert code == 1
    assert "350/300" in d[0]["message"]
    assert d[0]["line"] == 8  # the variant's own text, not the post's


def test_unknown_variant_key(project: Any, run: Any) -> None:
    project.calendar(
        calendar(post("a", variants={"blueksy": {"text": "x"}}), accounts="[masto, bsky]")
    )
    code, d = diags(run)
    assert code == 1
    [v] = [x for x in d if x["rule"] == "unknown-variant"]
    assert "did you mean 'bluesky'" in v["message"]


def test_thread_part_over_the_limit(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", thread=["short", "z" * 301]), accounts="[bsky]"))
    code, d = diags(run)
    assert code == 1
    [problem] = d
    assert "thread part 2" in problem["message"] and problem["line"] == 8


def test_thread_on_a_network_without_threads(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", thread=["more"]), accounts="[insta]"))
    code, d = diags(run)
    assert code == 1
    assert "thread" in {x["rule"] for x in d}


def test_telegram_caption_limit_applies_with_media(project: Any, run: Any) -> None:
    project.write("calendars/img.png", png())
    text = "x" * 2000
    project.calendar(calendar(post("a", text=text), accounts="[tg]"))
    assert run("validate").exit_code == 0
    project.calendar(
        calendar(post("a", text=text, media=[{"path": "img.png", "alt": "a"}]), accounts="[tg]")
    )
    code, d = diags(run)
    assert code == 1
    assert "2000/1024" in d[0]["message"]


def test_empty_post(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="  ")))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["empty"]


def test_draft_problems_are_warnings(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="x" * 600, status="draft")))
    code, d = diags(run)
    assert code == 0
    assert d[0]["severity"] == "warning" and "(draft)" in d[0]["message"]


# ---------------------------------------------------------------------- media
def test_media_accepted(project: Any, run: Any) -> None:
    project.write("calendars/media/a.png", png())
    project.calendar(
        calendar(
            post("a", media=[{"path": "media/a.png", "alt": "Logo"}]), accounts="[masto, bsky]"
        )
    )
    code, d = diags(run)
    assert code == 0 and d == []


def test_media_missing_file_and_missing_alt(project: Any, run: Any) -> None:
    project.write("calendars/a.png", png())
    project.calendar(
        calendar(post("a", media=[{"path": "nope.png", "alt": "x"}, {"path": "a.png"}]))
    )
    code, d = diags(run)
    assert code == 1
    assert where(d, "media-missing") == [(8, 22, "error")]
    assert where(d, "alt-text") == [(8, 56, "warning")]


def test_media_outside_project_is_refused(project: Any, run: Any, tmp_path: Any) -> None:
    (tmp_path / "secret.png").write_bytes(png())
    project.calendar(calendar(post("a", media=[{"path": "../../secret.png", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_media_symlink_out_of_project_is_refused(project: Any, run: Any, tmp_path: Any) -> None:
    (tmp_path / "outside.png").write_bytes(png())
    (project.root / "calendars").mkdir(exist_ok=True)
    os.symlink(tmp_path / "outside.png", project.root / "calendars" / "link.png")
    project.calendar(calendar(post("a", media=[{"path": "link.png", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert d[0]["rule"] == "media-path" and "symbolic link" in d[0]["message"]


def test_media_type_is_sniffed_not_trusted(project: Any, run: Any) -> None:
    project.write("calendars/fake.png", b"%PDF-1.7 not an image")
    project.calendar(calendar(post("a", media=[{"path": "fake.png", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert "not accepted by mastodon" in d[0]["message"]


def test_media_too_large_for_bluesky(project: Any, run: Any) -> None:
    project.write("calendars/big.png", png(pad=2_100_000))  # Bluesky: 2,000,000 bytes
    project.calendar(
        calendar(post("a", media=[{"path": "big.png", "alt": "x"}]), accounts="[masto, bsky]")
    )
    code, d = diags(run)
    assert code == 1
    [problem] = d  # Mastodon (16 MB) accepts it
    assert "bluesky accepts at most" in problem["message"]


def test_media_count_over_the_maximum(project: Any, run: Any) -> None:
    project.write("calendars/a.png", png())
    items = [{"path": "a.png", "alt": "x"}] * 5
    project.calendar(calendar(post("a", media=items), accounts="[bsky]"))
    code, d = diags(run)
    assert code == 1
    assert "5 attachments" in d[0]["message"]


def test_instagram_requires_media(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), accounts="[insta]"))
    code, d = diags(run)
    assert code == 1
    assert "requires" in d[0]["message"]


# ---------------------------------------------------------------------- output formats
def test_text_format_shows_position_frame_and_hint(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="x" * 501)))
    result = run("validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "calendars/dec.yaml:7:11: error: text is 501/500 characters for mastodon [length]"
    )
    assert any(line.strip().startswith("7 │") for line in lines)
    assert any(line.rstrip().endswith("^") for line in lines)
    assert "hint:" in result.stdout
    assert "invalid" in lines[-1]


def test_github_format(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="x" * 501)))
    result = run("validate", "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "::error file=calendars/dec.yaml,line=7,col=11,title=cmctl length::text is 501/500"
    )


def test_paths_argument_limits_the_check(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", text="x" * 501)), name="bad.yaml")
    good = project.calendar(calendar(post("b")), name="good.yaml")
    assert run("validate").exit_code == 1
    assert run("validate", str(good)).exit_code == 0
    result = run("validate", "nowhere.yaml")
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_two_files_claiming_one_calendar_name(project: Any, run: Any) -> None:
    project.calendar("calendar: dec\n" + calendar(post("a")), name="one.yaml")
    project.calendar("calendar: dec\n" + calendar(post("a")), name="two.yaml")
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["duplicate-calendar"]


# ---------------------------------------------------------------------- config errors
def test_no_config_is_a_usage_error(tmp_path: Any, monkeypatch: Any, run: Any) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert result.exit_code == 2
    assert "no cmctl.yaml" in result.stderr


def test_config_found_by_walking_up(project: Any, run: Any, monkeypatch: Any) -> None:
    project.calendar(calendar(post("a")))
    (project.root / "calendars" / "sub").mkdir()
    monkeypatch.chdir(project.root / "calendars" / "sub")
    assert run("validate").exit_code == 0


def test_config_errors_exit_2_with_positions(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  a:\n    network: mastodn\n  b:\n    network: bluesky\n    handel: x\n"
    )
    result = run("validate")
    assert result.exit_code == 2
    assert (
        "cmctl.yaml:3:14: error: unknown network 'mastodn' (did you mean 'mastodon'?)"
        in result.stderr
    )
    assert "cmctl.yaml:6:5: error: unknown key 'handel'" in result.stderr
    assert "missing required key 'handle'" in result.stderr


def test_validation_needs_no_secret(project: Any, run: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("MASTO_TOKEN", raising=False)
    project.calendar(calendar(post("a")))
    assert run("validate").exit_code == 0


def test_secret_written_in_config_is_a_warning_and_never_shown(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n    instance: https://m.example\n"
        "    token: hunter2-very-secret\ndefaults:\n  timezone: Europe/Paris\n"
    )
    project.calendar(calendar(post("a")))
    result = run("validate")
    assert result.exit_code == 0
    assert "secret-in-config" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    data = as_json(run("validate", "--format", "json"))
    assert "hunter2" not in str([d["message"] for d in data["diagnostics"]])


# ---------------------------------------------------------------------- parallel check
def test_parallel_check_reports_exactly_what_the_sequential_one_does(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    import cmctl.project

    monkeypatch.setattr(cmctl.project, "PARALLEL_MIN_BYTES", 0)
    for n in range(6):
        posts = [
            post(f"p{i}", at=f"2026-12-{1 + i:02d} 10:00", text="x" * (480 + 10 * i))
            for i in range(4)
        ]
        project.calendar(calendar(*posts, accounts="[masto, bsky]"), name=f"f{n}.yaml")
    project.calendar("calendar: f0\n" + calendar(post("dup")), name="zz.yaml")
    sequential = run("validate", "-j", "1", "--format", "json")
    parallel = run("validate", "-j", "3", "--format", "json")
    assert sequential.exit_code == parallel.exit_code == 1
    assert parallel.stdout == sequential.stdout
    data = as_json(parallel)
    assert data["posts"] == 25 and data["jobs"] == 49
    # the six files hold the same posts: each would be published six times
    assert {d["rule"] for d in data["diagnostics"]} == {
        "length",
        "duplicate-calendar",
        "same-post-twice",
    }


def test_code_frames_show_the_file_as_it_is_now(project: Any, run: Any) -> None:
    """One process, the same relative path, new contents (the daemon, or tests): the
    frame quotes the file as it is, not as it was first read."""
    project.calendar(calendar(post("a", text="x" * 501)))
    assert "7 │" in run("validate").stdout
    project.calendar(calendar(post("first"), post("a", text="y" * 501, at="2026-12-02 09:30")))
    again = run("validate").stdout
    assert "10 │" in again and "yyyy" in again and "xxxx" not in again
