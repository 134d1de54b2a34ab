"""`cmctl add` through the CLI: the post goes at the end of `posts:`, every other byte of
the file stays as it was, and nothing is written when the project would be invalid."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_validate import png

COMMENTED = """\
# yaml-language-server: $schema=../calendar.schema.json
# A calendar full of things an editor must not lose.

timezone: Europe/Paris   # the posts' zone
lang: fr

defaults:
  accounts: [masto]
  hashtags: ["brand"]     # quoted on purpose

posts:
  # the first one
  - id: first
    at: 2026-12-01 09:30
    text: >
      Folded text
      over two lines.

  - id: second
    at: '2026-12-02 10:00'   # quoted time
    text: |
      Literal text.
      # not a comment: text
    link: https://example.com/a   # trailing comment
  # a comment after the last post

# the end of the file
"""
LAST_POST_END = "    link: https://example.com/a   # trailing comment"


def add(run: Any, *args: str, **kwargs: Any) -> Any:
    return run("add", *args, **kwargs)


def posts_of(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    posts: list[dict[str, Any]] = data["posts"]
    return posts


def split_at(text: str, marker: str) -> tuple[str, str]:
    """The text up to the end of ``marker``'s line, and the rest."""
    index = text.index(marker) + len(marker)
    return text[:index], text[index:]


# ---------------------------------------------------------------------- byte for byte
def test_commented_file_is_kept_byte_for_byte_outside_the_new_post(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    old = path.read_bytes()
    result = add(run, "--at", "2026-12-03 18:00", "-a", "masto", "--text", "Un troisième post")
    assert result.exit_code == 0, result.output
    new = path.read_bytes()
    head, tail = split_at(old.decode(), LAST_POST_END)
    assert new.startswith(head.encode())
    assert new.endswith(tail.encode())
    added = new[len(head.encode()) : len(new) - len(tail.encode())].decode()
    assert added == (
        "\n\n"  # the posts are separated by a blank line: this one too
        "  - id: un-troisieme-post\n"
        "    at: 2026-12-03 18:00\n"
        "    accounts: [masto]\n"
        "    text: Un troisième post"
    )
    posts = posts_of(path)
    assert [p["id"] for p in posts] == ["first", "second", "un-troisieme-post"]
    assert posts[1]["text"] == "Literal text.\n# not a comment: text\n"
    assert "calendars/dec.yaml" in result.output
    assert "un-troisieme-post" in result.output
    assert "2026-12-03 18:00 Europe/Paris" in result.output
    assert "masto" in result.output
    assert run("validate").exit_code == 0


def test_sequence_at_the_keys_column_is_followed(project: Any, run: Any) -> None:
    old = (
        "timezone: Europe/Paris\nposts:\n- id: a\n  at: 2026-12-01 09:30\n"
        "  accounts: [masto]\n  text: A\n"
    )
    path = project.calendar(old)
    project.write("calendars/img.png", png())
    result = add(
        run,
        *("--at", "2026-12-02 09:30", "-a", "masto", "--text", "B", "--id", "b"),
        *("--media", "img.png", "--alt", "A red square"),
    )
    assert result.exit_code == 0, result.output
    assert path.read_text() == old + (
        "- id: b\n  at: 2026-12-02 09:30\n  accounts: [masto]\n  text: B\n"
        "  media:\n  - path: img.png\n    alt: A red square\n"
    )


def test_sequence_indented_under_the_key_nests_media_the_same_way(project: Any, run: Any) -> None:
    old = (
        "timezone: Europe/Paris\nposts:\n  - id: a\n    at: 2026-12-01 09:30\n"
        "    accounts: masto\n    text: A\n"
    )
    path = project.calendar(old)
    project.write("calendars/a.png", png())
    project.write("calendars/b.png", png())
    result = add(
        run,
        *("--at", "2026-12-02 09:30", "--accounts", "masto", "--text", "B", "--id", "b"),
        *("--media", "a.png", "--alt", "First", "--media", "b.png", "--alt", "Second"),
    )
    assert result.exit_code == 0, result.output
    assert path.read_text() == old + (
        "  - id: b\n    at: 2026-12-02 09:30\n    accounts: [masto]\n    text: B\n"
        "    media:\n      - path: a.png\n        alt: First\n"
        "      - path: b.png\n        alt: Second\n"
    )


def test_crlf_file_stays_crlf(project: Any, run: Any) -> None:
    old = b"# dos\r\ntimezone: Europe/Paris\r\nposts:\r\n  - id: a\r\n    at: 2026-12-01 09:30\r\n"
    old += b"    accounts: [masto]\r\n    text: A\r\n"
    path = project.write("calendars/dec.yaml", old)
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "Deux\nlignes")
    assert result.exit_code == 0, result.output
    new = path.read_bytes()
    assert new.startswith(old)
    assert new[len(old) :] == (
        b"  - id: deux-lignes\r\n    at: 2026-12-02 09:30\r\n    accounts: [masto]\r\n"
        b"    text: |-\r\n      Deux\r\n      lignes\r\n"
    )
    assert b"\n" not in new.replace(b"\r\n", b"")
    assert posts_of(path)[-1]["text"] == "Deux\nlignes"


def test_a_text_that_keeps_its_trailing_line_breaks_keeps_them(project: Any, run: Any) -> None:
    old = (
        "timezone: Europe/Paris\nposts:\n  - id: a\n    at: 2026-12-01 09:30\n"
        "    accounts: [masto]\n    text: |+\n      keep\n\n\n# end\n"
    )
    path = project.calendar(old)
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "B")
    assert result.exit_code == 0, result.output
    assert path.read_text() == old.replace(
        "# end", "  - id: b\n    at: 2026-12-02 09:30\n    accounts: [masto]\n    text: B\n# end"
    )
    assert posts_of(path)[0]["text"] == "keep\n\n\n"


def test_a_byte_order_mark_is_kept(project: Any, run: Any) -> None:
    old = "\ufefftimezone: Europe/Paris\nposts: []\n".encode()
    path = project.write("calendars/dec.yaml", old)
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "B", "--calendar", "dec")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == "\ufefftimezone: Europe/Paris\nposts:\n".encode() + (
        b"  - id: b\n    at: 2026-12-02 09:30\n    accounts: [masto]\n    text: B\n"
    )


def test_a_last_line_without_newline_stays_without(project: Any, run: Any) -> None:
    old = (
        "timezone: Europe/Paris\ndefaults: {accounts: masto}\n"
        "posts:\n  - id: a\n    at: 2026-12-01 09:30\n    text: A # end"
    )
    path = project.calendar(old)
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "B")
    assert result.exit_code == 0, result.output
    assert path.read_text() == old + "\n  - id: b\n    at: 2026-12-02 09:30\n" + (
        "    accounts: [masto]\n    text: B"
    )


@pytest.mark.parametrize(
    ("posts_line", "expected"),
    [
        ("posts: []\n", "posts:\n"),
        ("posts: []   # none yet\n", "posts:   # none yet\n"),
        ("posts:\n", "posts:\n"),
        ("posts:   # soon \n", "posts:   # soon \n"),
        ("posts: ~\n", "posts:\n"),
    ],
)
def test_an_empty_posts_list_becomes_a_block_list(
    project: Any, run: Any, posts_line: str, expected: str
) -> None:
    head = "# empty for now\ntimezone: Europe/Paris\ndefaults:\n  accounts: [masto]\n"
    path = project.calendar(head + posts_line + "# after\n")
    result = add(run, "--at", "2026-12-02 09:30", "--text", "Premier !", "--calendar", "dec")
    assert result.exit_code == 0, result.output
    assert path.read_text() == head + expected + (
        "  - id: premier\n    at: 2026-12-02 09:30\n    text: Premier !\n# after\n"
    )


def test_flow_posts_get_a_flow_post(project: Any, run: Any) -> None:
    old = (
        "timezone: Europe/Paris\n"
        "posts: [{id: a, at: '2026-12-01 09:30', accounts: masto, text: A}]\n"
    )
    path = project.calendar(old)
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "B\nC")
    assert result.exit_code == 0, result.output
    assert path.read_text() == old.replace(
        "}]", '}, {id: b-c, at: 2026-12-02 09:30, accounts: [masto], text: "B\\nC"}]'
    )
    assert posts_of(path)[-1]["text"] == "B\nC"


# ---------------------------------------------------------------------- the id
def test_id_comes_from_the_text_and_never_collides(project: Any, run: Any) -> None:
    path = project.calendar("timezone: Europe/Paris\nposts: []\n")
    text = "Été : 3 idées pour votre veille, dès lundi matin !"
    for _ in range(3):
        result = add(
            run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", text, "--calendar", "dec"
        )
        assert result.exit_code == 0, result.output
    ids = [p["id"] for p in posts_of(path)]
    assert ids == [
        "ete-3-idees-pour-votre-veille",
        "ete-3-idees-pour-votre-veille-2",
        "ete-3-idees-pour-votre-veille-3",
    ]


def test_an_emoji_only_text_gets_a_plain_id(project: Any, run: Any) -> None:
    path = project.calendar("timezone: Europe/Paris\nposts: []\n")
    result = add(
        run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "🎉🎉", "--calendar", "dec"
    )
    assert result.exit_code == 0, result.output
    assert posts_of(path)[0]["id"] == "post"


@pytest.mark.parametrize(
    ("given", "message"),
    [("Bad Id", "not a valid post id"), ("a", "already used")],
)
def test_a_bad_or_used_id_is_refused(project: Any, run: Any, given: str, message: str) -> None:
    path = project.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: a\n    at: 2026-12-01 09:30\n"
        "    accounts: [masto]\n    text: A\n"
    )
    old = path.read_bytes()
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "B", "--id", given)
    assert result.exit_code == 2
    assert message in result.stderr
    assert path.read_bytes() == old


# ---------------------------------------------------------------------- refused: nothing written
def _unchanged(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), os.stat(path).st_mtime_ns


def test_a_post_too_long_for_the_network_is_refused_and_nothing_written(
    project: Any, run: Any
) -> None:
    path = project.calendar(COMMENTED)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = _unchanged(path)
    result = add(run, "--at", "2026-12-03 18:00", "-a", "bsky", "--text", "mot " * 100)
    assert result.exit_code == 1, result.output
    assert "bluesky" in result.output
    assert "error" in result.output
    assert "was not changed" in result.stderr
    assert _unchanged(path) == before
    assert [p.name for p in path.parent.iterdir()] == ["dec.yaml"]  # no temporary file left


def test_an_unknown_account_is_refused_and_nothing_written(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    before = _unchanged(path)
    result = add(run, "--at", "2026-12-03 18:00", "-a", "masto,nope", "--text", "Hello")
    assert result.exit_code == 1
    assert "unknown account 'nope'" in result.output
    assert "[unknown-account]" in result.output
    assert _unchanged(path) == before


def test_a_project_invalid_elsewhere_refuses_the_post(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    project.calendar("timezone: Europe/Paris\nposts:\n  - id: x\n", name="broken.yaml")
    before = _unchanged(path)
    result = add(
        run, "--at", "2026-12-03 18:00", "-a", "masto", "--text", "Hi", "--calendar", "dec"
    )
    assert result.exit_code == 1
    assert "calendars/broken.yaml" in result.output
    assert _unchanged(path) == before


def test_dry_run_prints_the_yaml_and_writes_nothing(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    before = _unchanged(path)
    result = add(run, "--at", "2026-12-03 18:00", "-a", "masto", "--text", "Hi", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "  - id: hi\n    at: 2026-12-03 18:00\n    accounts: [masto]\n    text: Hi\n"
    )
    assert "would add post 'hi'" in result.stderr
    assert _unchanged(path) == before


def test_the_file_mode_is_kept(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    path.chmod(0o640)
    assert add(run, "--at", "2026-12-03 18:00", "-a", "masto", "--text", "Hi").exit_code == 0
    assert os.stat(path).st_mode & 0o777 == 0o640


# ---------------------------------------------------------------------- which calendar
def test_calendar_name_creates_the_file_in_the_default_zone(project: Any, run: Any) -> None:
    project.calendar(COMMENTED)
    result = add(
        run,
        "--at",
        "2027-01-04 09:30",
        "-a",
        "masto",
        "--text",
        "Bonne année",
        "--calendar",
        "2027-01",
    )
    assert result.exit_code == 0, result.output
    path = project.root / "calendars" / "2027-01.yaml"
    assert path.read_text() == (
        "timezone: Europe/Paris\n\nposts:\n  - id: bonne-annee\n    at: 2027-01-04 09:30\n"
        "    accounts: [masto]\n    text: Bonne année\n"
    )
    assert "created calendars/2027-01.yaml (timezone: Europe/Paris)" in result.output
    assert "Mon 2027-01-04 09:30 Europe/Paris" in result.output


def test_timezone_option_sets_a_new_files_zone(project: Any, run: Any) -> None:
    project.calendar(COMMENTED)
    result = add(
        run,
        *("--at", "2027-01-04 09:30", "-a", "masto", "--text", "Hi"),
        *("--calendar", "ny", "--timezone", "America/New_York"),
    )
    assert result.exit_code == 0, result.output
    assert (
        (project.root / "calendars/ny.yaml").read_text().startswith("timezone: America/New_York\n")
    )
    assert "09:30 America/New_York" in result.output


def test_a_calendar_name_outside_the_globs_names_them(project: Any, run: Any) -> None:
    project.config(
        "accounts:\n  masto:\n    network: mastodon\n    instance: https://m.example\n"
        "    token: ${T}\ncalendars: plans/*.yaml\ndefaults:\n  timezone: Europe/Paris\n"
    )
    project.write("plans/dec.yaml", "timezone: Europe/Paris\nposts: []\n")
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "B", "--calendar", "x")
    assert result.exit_code == 2
    assert "'plans/*.yaml'" in result.stderr
    assert not (project.root / "calendars").exists()


def test_without_calendar_the_one_covering_the_date_is_chosen(project: Any, run: Any) -> None:
    dec = project.calendar(COMMENTED)
    jan = project.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: j\n    at: 2027-01-10 09:30\n"
        "    accounts: [masto]\n    text: J\n",
        name="jan.yaml",
    )
    assert add(run, "--at", "2027-01-31 20:00", "-a", "masto", "--text", "Fin").exit_code == 0
    assert [p["id"] for p in posts_of(jan)] == ["j", "fin"]
    assert [p["id"] for p in posts_of(dec)] == ["first", "second"]


@pytest.mark.parametrize(
    ("at", "why"), [("2027-03-01 09:00", "no calendar"), ("2026-12-09 09:00", "several")]
)
def test_without_calendar_an_unclear_date_asks_for_one(
    project: Any, run: Any, at: str, why: str
) -> None:
    project.calendar(COMMENTED)
    project.calendar(COMMENTED, name="dec-bis.yaml")
    result = add(run, "--at", at, "-a", "masto", "--text", "X")
    assert result.exit_code == 2
    assert why in result.stderr
    assert "--calendar" in result.stderr
    assert "calendars/dec.yaml 2026-12..2026-12" in result.stderr


def test_an_empty_calendar_covers_no_date(project: Any, run: Any) -> None:
    project.calendar("timezone: Europe/Paris\nposts: []\n")
    result = add(run, "--at", "2026-12-02 09:30", "-a", "masto", "--text", "X")
    assert result.exit_code == 2
    assert "calendars/dec.yaml (no posts)" in result.stderr


def test_a_malformed_time_is_a_usage_error(project: Any, run: Any) -> None:
    project.calendar(COMMENTED)
    result = add(run, "--at", "tomorrow", "-a", "masto", "--text", "X")
    assert result.exit_code == 2
    assert "not a date and time" in result.stderr


# ---------------------------------------------------------------------- input and options
def test_text_from_stdin(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    body = "\nUne ligne\n\nUn paragraphe: avec # et 'quotes'  \n"
    result = add(run, "--at", "2026-12-03 18:00", "-a", "masto", "--text", "-", input=body)
    assert result.exit_code == 0, result.output
    assert posts_of(path)[-1]["text"] == "Une ligne\n\nUn paragraphe: avec # et 'quotes'"
    assert posts_of(path)[-1]["id"] == "une-ligne-un-paragraphe-avec-et"


def test_accounts_repeat_or_commas(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    result = add(
        run, "--at", "2026-12-03 18:00", "-a", "masto,bsky", "-a", "feed", "--text", "Tous"
    )
    assert result.exit_code == 0, result.output
    assert posts_of(path)[-1]["accounts"] == ["masto", "bsky", "feed"]
    assert "for masto, bsky, feed" in result.output


def test_draft_and_repeat(project: Any, run: Any) -> None:
    path = project.calendar(COMMENTED)
    result = add(
        run,
        *("--at", "2026-12-07 09:00", "-a", "masto", "--text", "Lundi"),
        *("--repeat", "FREQ=WEEKLY;COUNT=3", "--draft"),
    )
    assert result.exit_code == 0, result.output
    last = posts_of(path)[-1]
    assert (last["repeat"], last["status"]) == ("FREQ=WEEKLY;COUNT=3", "draft")
    plan = run("plan", "--json")
    assert plan.exit_code == 0


def test_more_alt_than_media_is_a_usage_error(project: Any, run: Any) -> None:
    project.calendar(COMMENTED)
    result = add(run, "--at", "2026-12-03 18:00", "-a", "masto", "--text", "X", "--alt", "?")
    assert result.exit_code == 2


def test_a_project_with_a_ledger_is_checked_against_it(project: Any, run: Any) -> None:
    path = project.calendar(
        "timezone: Europe/Paris\nposts:\n  - id: sent\n    at: 2026-11-20 13:00\n"
        "    accounts: [feed]\n    text: Sent\n"
    )
    assert run("publish").exit_code == 0
    assert (project.root / ".cmctl").is_dir()
    result = add(run, "--at", "2026-11-28 09:30", "-a", "feed", "--text", "Next")
    assert result.exit_code == 0, result.output
    assert [p["id"] for p in posts_of(path)] == ["sent", "next"]
    assert run("validate").exit_code == 0


# ---------------------------------------------------------------------- the core, as units
def test_posts_written_as_flow_mappings_get_one_too() -> None:
    from cmctl.addpost import Request, insert_post, post_data, verify

    old = 'posts:\n  - {id: a, at: "2026-12-01 09:30"}\n  - {id: b, at: "2026-12-02 09:30"}\n'
    data = post_data(Request(at="2026-12-03 10:00", text="Hi", accounts=("x",)), "hi")
    inserted = insert_post(old, data)
    assert inserted.text == old + "  - {id: hi, at: 2026-12-03 10:00, accounts: [x], text: Hi}\n"
    assert inserted.lines == (4, 4)
    verify(old, inserted.text, data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Été : 3 idées !", "ete-3-idees"),
        ("Ça va ? Œuvre, Straße", "ca-va-oeuvre-strasse"),
        ("one two three four five six seven", "one-two-three-four-five-six"),
        ("a" * 60, "a" * 40),
        ("!!!", "post"),
    ],
)
def test_slug(text: str, expected: str) -> None:
    from cmctl.addpost import slug

    assert slug(text) == expected


def test_a_layout_that_cannot_be_kept_is_refused() -> None:
    from cmctl.addpost import verify
    from cmctl.errors import CmctlError

    with pytest.raises(CmctlError, match="nothing was written"):
        verify("posts:\n  - id: a\n", "posts:\n  - id: b\n", {"id": "b"})


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    from cmctl.addpost import Addition, write
    from cmctl.errors import CmctlError

    path = tmp_path / "dec.yaml"
    path.write_bytes(b"posts: []\n")
    addition = Addition(path, b"posts: []\n", b"posts:\n  - id: a\n", "a", "- id: a", (2, 2))
    path.write_bytes(b"posts: []  # saved by an editor meanwhile\n")
    with pytest.raises(CmctlError, match="changed while"):
        write(addition)
    assert path.read_bytes() == b"posts: []  # saved by an editor meanwhile\n"
    assert [p.name for p in tmp_path.iterdir()] == ["dec.yaml"]
