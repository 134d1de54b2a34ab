"""cmctl import: bulk CSV files of Buffer, Hootsuite and a generic CSV → a new calendar.

Each sample in tests/data/import/ is imported through the real CLI, then validated and
planned by cmctl itself; bad rows are reported at their physical file:line:column.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from cmctl.importing.reader import read_table
from tests.test_validate import png

DATA = Path(__file__).parent / "data" / "import"


def sample(project: Any, name: str) -> str:
    shutil.copy(DATA / name, project.root / name)
    return name


def utc_times(run: Any) -> dict[str, str]:
    result = run("plan", "--json")
    assert result.exit_code == 0, result.output
    return {job["key"]: job["at"] for job in json.loads(result.stdout)["jobs"]}


def test_buffer_sample_imports_validates_and_plans_in_utc(project: Any, run: Any) -> None:
    name = sample(project, "buffer.csv")
    result = run("import", "buffer", name, "--accounts", "masto", "--calendar", "jan")
    assert result.exit_code == 0, result.output
    assert "3 post(s) written to calendars/jan.yaml" in result.stdout
    assert "Tags organise posts in Buffer" in result.stderr  # a note, not an error
    assert run("validate").exit_code == 0
    assert utc_times(run) == {
        "jan:bonne-annee-our-plans-for-2027@masto": "2027-01-04T08:30:00+00:00",
        "jan:thank-you-for-reading@masto": "2027-02-01T17:45:00+00:00",
        # the day the clocks go forward in Paris: UTC+2 from then on
        "jan:spring-is-here-the-clocks-went@masto": "2027-03-28T08:00:00+00:00",
    }


def test_hootsuite_sample_imports_month_first(project: Any, run: Any) -> None:
    name = sample(project, "hootsuite.csv")
    result = run("import", "hootsuite", name, "--accounts", "masto,bsky", "--calendar", "h")
    assert result.exit_code == 0, result.output
    assert run("validate").exit_code == 0
    times = utc_times(run)
    assert times["h:month-first-as-hootsuite-writes-it@bsky"] == "2027-01-04T08:30:00+00:00"
    assert times["h:after-the-change-to-summer-time@masto"] == "2027-03-28T08:00:00+00:00"
    written = (project.root / "calendars" / "h.yaml").read_text(encoding="utf-8")
    assert "link: https://example.org/a" in written


@pytest.mark.parametrize(
    ("options", "utc"),
    [((), "2027-03-04T08:00:00+00:00"), (("--day-first",), "2027-04-03T07:00:00+00:00")],
)
def test_day_first_changes_the_reading_of_03_04(
    project: Any, run: Any, options: tuple[str, ...], utc: str
) -> None:
    name = sample(project, "hootsuite-03-04.csv")
    result = run("import", "hootsuite", name, "--accounts", "masto", *options)
    assert result.exit_code == 0, result.output
    assert utc_times(run) == {"hootsuite-03-04:which-day-is-it@masto": utc}


def test_generic_sample_is_an_export_that_imports_back_without_options(
    project: Any, run: Any
) -> None:
    project.write("media/banner.png", png())
    project.write("media/logo.png", png())
    name = sample(project, "generic.csv")
    result = run("import", "csv", name, "--calendar", "back")
    assert result.exit_code == 0, result.output
    # export's extra columns are ignored, with a note each
    assert "column 'network' is not imported" in result.stderr
    assert run("validate").exit_code == 0
    assert utc_times(run) == {
        "back:kickoff@masto": "2027-01-04T08:30:00+00:00",
        "back:kickoff@bsky": "2027-01-04T08:30:00+00:00",  # two rows, one post
        "back:spring@masto": "2027-03-28T08:00:00+00:00",
        # a row in another zone keeps its instant (New York is on EDT since 03-14)
        "back:new-york@bsky": "2027-03-28T14:00:00+00:00",
    }
    written = (project.root / "calendars" / "back.yaml").read_text(encoding="utf-8")
    assert "alt: Our logo" in written
    assert "text: |-\n    Two lines:\n    the second one\n" in written


def test_mapping_reads_other_column_names(project: Any, run: Any) -> None:
    name = sample(project, "mapped.csv")
    result = run(
        "import", "csv", name, "--map", "date=Day,text=Message,accounts=Where", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "text: Mapped columns" in result.stdout
    assert "at: 2027-01-04 09:30" in result.stdout
    assert not (project.root / "calendars").exists()  # a dry run writes nothing


def test_mapping_to_a_missing_column_is_a_usage_error(project: Any, run: Any) -> None:
    name = sample(project, "mapped.csv")
    result = run("import", "csv", name, "--map", "text=Body")
    assert result.exit_code == 2
    assert "--map text=Body: no column 'Body'" in result.stderr


BAD_ROWS = [
    "bad.csv:5:1: error: '2027-02-30' is not a valid date: day is out of range for month",
    "bad.csv:6:18: error: unknown account 'nobody'",
    "bad.csv:7:23: error: the text is empty",
    "bad.csv:8:23: error: text is 301/300",
]


def test_bad_rows_are_reported_at_their_physical_line_and_nothing_is_written(
    project: Any, run: Any
) -> None:
    name = sample(project, "bad.csv")
    result = run("import", "csv", name, "--calendar", "bad")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    for expected in BAD_ROWS:
        assert any(line.startswith(expected) for line in lines), (expected, result.stderr)
    assert "nothing written" in result.stderr
    assert not (project.root / "calendars" / "bad.yaml").exists()
    assert not list((project.root / "calendars").glob(".*"))  # no scratch file left


def test_skip_bad_writes_the_good_rows_and_says_which_were_left_out(project: Any, run: Any) -> None:
    name = sample(project, "bad.csv")
    result = run("import", "csv", name, "--calendar", "good", "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "skipped 4 bad row(s), at line(s) 5, 6, 7, 8" in result.stderr
    assert "2 post(s) written" in result.stdout
    assert run("validate").exit_code == 0


def test_a_byte_order_mark_and_semicolons_are_read(project: Any, run: Any) -> None:
    project.write(
        "excel.csv",
        "\ufeffdate;time;accounts;text\r\n2027-01-04;09:30;masto;Point-virgule, virgule\r\n\r\n",
    )
    result = run("import", "csv", "excel.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "text: Point-virgule, virgule" in result.stdout
    assert "id: point-virgule-virgule" in result.stdout


def test_columns_count_from_after_the_byte_order_mark(project: Any, run: Any) -> None:
    project.write("excel.csv", "\ufeffdate;time;accounts;text\r\nsoon;09:30;masto;x\r\n")
    result = run("import", "csv", "excel.csv")
    assert result.exit_code == 1
    assert "excel.csv:2:1: error: 'soon' is not a date" in result.stderr


def test_an_explicit_delimiter_wins(project: Any, run: Any) -> None:
    project.write("tabs.csv", "date|time|accounts|text\n2027-01-04|09:30|masto|a;b;c,d\n")
    result = run("import", "csv", "tabs.csv", "--delimiter", "|", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "text: a;b;c,d" in result.stdout


def test_an_existing_calendar_is_never_overwritten(project: Any, run: Any) -> None:
    project.calendar("timezone: UTC\nposts: []\n", name="jan.yaml")
    name = sample(project, "buffer.csv")
    result = run("import", "buffer", name, "--accounts", "masto", "--calendar", "jan")
    assert result.exit_code == 2
    assert "calendars/jan.yaml: already exists; not overwritten" in result.stderr
    assert (project.root / "calendars" / "jan.yaml").read_text() == "timezone: UTC\nposts: []\n"


def test_unknown_default_account_is_a_usage_error(project: Any, run: Any) -> None:
    name = sample(project, "buffer.csv")
    result = run("import", "buffer", name, "--accounts", "masto,ghost")
    assert result.exit_code == 2
    assert "--accounts: unknown account 'ghost'" in result.stderr


def test_a_past_date_is_a_warning_only(project: Any, run: Any) -> None:
    project.write("old.csv", "date,accounts,text\n2026-01-04 09:30,masto,Long ago\n")
    result = run("import", "csv", "old.csv")
    assert result.exit_code == 0, result.output
    assert "old.csv:2:1: warning: post 'long-ago' is in the past" in result.stderr


def test_ids_are_unique_slugs_of_the_first_words(project: Any, run: Any) -> None:
    project.write(
        "same.csv",
        "date,accounts,text\n2027-01-04 09:30,masto,Hello!\n2027-01-05 09:30,masto,hello\n",
    )
    result = run("import", "csv", "same.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "id: hello\n" in result.stdout and "id: hello-2\n" in result.stdout


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "a binary file"),
        (lambda p: p.write_bytes(b"date,text\n\xe9t\xe9\n"), "not UTF-8 text"),
        (lambda p: p.write_bytes(b'date,text\n2027-01-01,"open\n'), "not valid CSV"),
        (lambda p: p.write_bytes(b"\n\n"), "the file is empty"),
        (lambda p: None, "no such file"),
    ],
)
def test_a_file_that_is_not_csv_is_a_clear_usage_error(
    project: Any, run: Any, make: Any, message: str
) -> None:
    path = project.root / "in.csv"
    make(path)
    result = run("import", "csv", "in.csv", "--accounts", "masto")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_record_after_a_multi_line_cell_starts_where_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b\r\n"1\r\n2\r\n3",x\r\n\r\n4,"y"\r\n')
    table = read_table(path, "x.csv")
    assert [r.line for r in table.records] == [1, 2, 6]
    assert [(c.line, c.col, c.value) for c in table.records[1].cells] == [
        (2, 1, "1\n2\n3"),
        (4, 4, "x"),
    ]
    assert [(c.line, c.col) for c in table.records[2].cells] == [(6, 1), (6, 3)]


def test_the_target_is_refused_before_the_file_is_even_read(project: Any, run: Any) -> None:
    project.calendar("timezone: UTC\nposts: []\n", name="jan.yaml")
    (project.root / "dir.csv").mkdir()
    result = run("import", "csv", "dir.csv", "--calendar", "jan")
    assert result.exit_code == 2
    assert "calendars/jan.yaml: already exists" in result.stderr


def test_the_write_never_replaces_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    from cmctl.errors import UsageError
    from cmctl.importing.build import write_new

    target = tmp_path / "calendars" / "jan.yaml"
    write_new(target, "first\n")
    with pytest.raises(UsageError, match="already exists"):
        write_new(target, "second\n")
    assert target.read_text() == "first\n"
    assert [p.name for p in target.parent.iterdir()] == ["jan.yaml"]  # no scratch left


def test_a_date_that_only_reads_day_first_says_so(project: Any, run: Any) -> None:
    project.write("h.csv", "13/04/2027 09:00,Day first\n")
    result = run("import", "hootsuite", "h.csv", "--accounts", "masto")
    assert result.exit_code == 1
    assert "h.csv:1:1: error: '13/04/2027 09:00' has no month 13" in result.stderr
    assert "with --day-first?" in result.stderr


def test_a_calendar_outside_the_configured_patterns_is_noted(project: Any, run: Any) -> None:
    project.config("calendars: posts/*.yaml\n" + project.root.joinpath("cmctl.yaml").read_text())
    name = sample(project, "hootsuite.csv")
    result = run("import", "hootsuite", name, "--accounts", "masto", "--calendar", "h")
    assert result.exit_code == 0, result.output
    assert "note: calendars/h.yaml is not among the calendars" in result.stderr
