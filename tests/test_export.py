"""`cmctl export --format csv|ics|json`: the plan read back the way its readers read it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from tests.conftest import as_json, calendar, post
from tests.test_validate import png

COLUMNS = ["id", "date", "time", "timezone", "accounts", "text", "link", "media", "alt"]


def export(run: Any, fmt: str, *args: str) -> Any:
    result = run("export", "--format", fmt, *args)
    assert result.exit_code == 0, result.output
    return result


def events(run: Any, *args: str) -> list[Any]:
    cal = Calendar.from_ical(export(run, "ics", *args).stdout_bytes)
    return list(cal.walk("VEVENT"))


def rows(run: Any, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(export(run, "csv", *args).stdout, newline="")))


def by_key(found: list[Any]) -> dict[str, Any]:
    return {str(e["X-CMCTL-KEY"]): e for e in found}


# ------------------------------------------------------------------------------------ ICS
def test_ics_one_event_per_post_and_account_thread_in_its_description(
    project: Any, run: Any
) -> None:
    project.calendar(
        calendar(
            post("a", text="Bonjour, le monde", link="https://example.org", hashtags=["cm"]),
            post("t", at="2026-12-02 10:00", text="Un", thread=["Deux", "Trois"]),
            accounts="[masto, bsky]",
        )
    )
    found = by_key(events(run))
    assert sorted(found) == ["dec:a@bsky", "dec:a@masto", "dec:t@bsky", "dec:t@masto"]
    a = found["dec:a@masto"]
    assert str(a["DESCRIPTION"]) == "Bonjour, le monde\n\nhttps://example.org\n\n#cm"
    assert str(a["SUMMARY"]).startswith("masto: Bonjour, le monde")
    assert a["DURATION"].dt == timedelta(minutes=15)
    assert str(a["STATUS"]) == "CONFIRMED"
    assert a["CATEGORIES"].cats == ["mastodon"]
    assert str(a["X-CMCTL-STATE"]) == "planned"
    assert "URL" not in a  # nothing published yet
    assert str(found["dec:t@masto"]["DESCRIPTION"]) == (
        "— 1/3 —\nUn\n\n— 2/3 —\nDeux\n\n— 3/3 —\nTrois"
    )
    assert len({str(e["UID"]) for e in found.values()}) == 4


def test_ics_uid_survives_a_text_edit_and_a_move(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("a", at="2026-12-01 09:30", text="Avant")))
    (before,) = events(run)
    project.calendar(calendar(post("a", at="2026-12-03 18:00", text="Après")))
    now.shift(120)
    (after,) = events(run)
    assert str(after["UID"]) == str(before["UID"])
    # a later export supersedes: DTSTAMP and SEQUENCE both move forward
    assert after["DTSTAMP"].dt - before["DTSTAMP"].dt == timedelta(minutes=2)
    assert after["SEQUENCE"] == before["SEQUENCE"] + 2
    assert str(after["DESCRIPTION"]) == "Après"
    assert before["DTSTART"].dt.astimezone(UTC) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert after["DTSTART"].dt.astimezone(UTC) == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    # another post, another identity
    project.calendar(calendar(post("a"), post("b")))
    assert len({str(e["UID"]) for e in events(run)}) == 2


def test_ics_dtstart_keeps_local_time_across_dst_with_its_vtimezone(project: Any, run: Any) -> None:
    project.calendar(
        calendar(post("winter", at="2027-03-27 09:30"), post("summer", at="2027-03-29 09:30"))
    )
    raw = export(run, "ics").stdout_bytes
    assert b"DTSTART;TZID=Europe/Paris:20270327T093000\r\n" in raw
    assert b"DTSTART;TZID=Europe/Paris:20270329T093000\r\n" in raw
    cal = Calendar.from_ical(raw)
    assert cal.get_missing_tzids() == set()  # every TZID has its VTIMEZONE
    (vtimezone,) = cal.walk("VTIMEZONE")
    tz = vtimezone.to_tz()  # the zone as the file itself describes it, not the host's
    found = {str(e["X-CMCTL-KEY"]): e["DTSTART"].dt for e in cal.walk("VEVENT")}
    winter = found["dec:winter@masto"].replace(tzinfo=tz)
    summer = found["dec:summer@masto"].replace(tzinfo=tz)
    assert winter.astimezone(UTC) == datetime(2027, 3, 27, 8, 30, tzinfo=UTC)
    assert summer.astimezone(UTC) == datetime(2027, 3, 29, 7, 30, tzinfo=UTC)


def test_ics_is_crlf_folded_and_escaped(project: Any, run: Any) -> None:
    text = "Virgule, point-virgule; antislash \\ et une ligne\nsuivante " + "é" * 80
    project.calendar(calendar(post("a", text=text)))
    raw = export(run, "ics").stdout_bytes
    assert all(line.endswith(b"\r") for line in raw.split(b"\n")[:-1])
    assert max(len(line.rstrip(b"\r")) for line in raw.split(b"\n")) <= 75  # octets
    assert b"Virgule\\, point-virgule\\; antislash \\\\ et une ligne\\nsuivante" in raw
    (event,) = events(run)
    assert str(event["DESCRIPTION"]) == text


def test_drafts_only_when_asked_and_tentative(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), post("d", status="draft")))
    assert list(by_key(events(run))) == ["dec:a@masto"]
    found = by_key(events(run, "--drafts"))
    assert str(found["dec:d@masto"]["STATUS"]) == "TENTATIVE"
    assert str(found["dec:a@masto"]["STATUS"]) == "CONFIRMED"
    assert [r["id"] for r in rows(run)] == ["a"]
    assert [(r["id"], r["status"]) for r in rows(run, "--drafts")] == [
        ("a", "approved"),
        ("d", "draft"),
    ]


# ----------------------------------------------------------------- the ledger: state and URL
def _masto_and_feed(project: Any, monkeypatch: pytest.MonkeyPatch, fake: Any) -> None:
    project.config(
        "accounts:\n"
        f"  masto:\n    network: mastodon\n    instance: {fake.url}\n    token: ${{T}}\n"
        "  feed:\n    network: feed\n    path: public/feed.xml\n"
        "defaults:\n  timezone: Europe/Paris\n"
    )
    monkeypatch.setenv("T", "good-token")
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "2")
    project.calendar(
        calendar(
            post("a", at="2026-12-01 09:30", text="Publié"),
            post("b", at="2026-12-05 09:30", text="Plus tard"),
            accounts="[masto, feed]",
        )
    )


def test_published_state_and_url_in_every_format(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _masto_and_feed(project, monkeypatch, fake_mastodon)
    now.move_to("2026-12-01T08:30:30Z")
    assert run("publish").exit_code == 0
    jobs = {j["key"]: j for j in as_json(export(run, "json"))["jobs"]}
    assert jobs["dec:a@masto"]["state"] == jobs["dec:a@feed"]["state"] == "published"
    url = jobs["dec:a@masto"]["url"]
    assert url and url.startswith(fake_mastodon.url)
    assert jobs["dec:a@feed"]["url"] is None  # the local feed has no page per entry
    assert jobs["dec:b@masto"]["state"] == "pending" and jobs["dec:b@masto"]["url"] is None

    found = by_key(events(run))
    assert str(found["dec:a@masto"]["URL"]) == url
    assert str(found["dec:a@masto"]["X-CMCTL-STATE"]) == "published"
    assert str(found["dec:a@feed"]["X-CMCTL-STATE"]) == "published"
    assert "URL" not in found["dec:a@feed"] and "URL" not in found["dec:b@masto"]

    (first, later) = rows(run)
    assert first["accounts"] == "feed masto"
    assert first["state"] == "published | published"
    assert first["url"] == f" | {url}"
    assert later["state"] == "pending | pending" and later["url"] == ""


def test_a_cancelled_job_is_a_cancelled_event(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a"), post("b", at="2026-12-02 09:30")))
    run("publish")  # nothing due yet: the ledger learns the jobs
    assert run("cancel", "dec:a@masto").exit_code == 0
    found = by_key(events(run))
    assert str(found["dec:a@masto"]["STATUS"]) == "CANCELLED"
    assert str(found["dec:b@masto"]["STATUS"]) == "CONFIRMED"


def test_no_ledger_is_fine_and_none_is_created(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a")))
    for fmt in ("csv", "ics", "json"):
        export(run, fmt)
    assert not (project.root / ".cmctl").exists()
    assert as_json(export(run, "json"))["jobs"][0]["state"] == "planned"


# ------------------------------------------------------------------------------------ CSV
def test_csv_columns_groups_and_quoting(project: Any, run: Any) -> None:
    hard = 'Une virgule, des "guillemets"\net une nouvelle ligne'
    project.calendar(
        "timezone: Europe/Paris\ndefaults:\n  accounts: [masto, bsky, tg]\n  hashtags: [cm]\n"
        "posts:\n"
        + post(
            "a",
            text=hard,
            link="https://example.org/a",
            media=[
                {"path": "media/one.png", "alt": "Un, deux"},
                {"path": "media/two.png", "alt": "Trois"},
            ],
        )
        + post("v", at="2026-12-02 18:05", text="Commun", variants={"bsky": {"text": "Court"}})
        + post("t", at="2026-12-03 12:00", text="Un", thread=["Deux"], accounts=["masto"])
    )
    project.write("calendars/media/one.png", png())
    project.write("calendars/media/two.png", png())
    raw = export(run, "csv").stdout_bytes
    assert raw.startswith(",".join(COLUMNS).encode() + b",calendar,")
    assert raw.count(b"\r\n") == 5  # RFC 4180: each record ends with CRLF...
    assert b'"Une virgule, des ""guillemets""\net une' in raw  # ...a text keeps its own LF
    found = rows(run)
    assert list(found[0])[: len(COLUMNS)] == COLUMNS
    a, v, v_bsky, t = found
    assert a == a | {
        "id": "a",
        "date": "2026-12-01",
        "time": "09:30",
        "timezone": "Europe/Paris",
        "accounts": "bsky masto tg",
        "text": hard + "\n\n#cm",  # read back exactly
        "link": "https://example.org/a",
        "media": "media/one.png | media/two.png",
        "alt": "Un, deux | Trois",
        "calendar": "dec",
        "key": "dec:a@bsky | dec:a@masto | dec:a@tg",
        "state": "planned | planned | planned",
        "thread": "0",
    }
    assert (v["id"], v["accounts"], v["text"], v["time"]) == (
        "v",
        "masto tg",
        "Commun\n\n#cm",
        "18:05",
    )
    assert (v_bsky["id"], v_bsky["accounts"], v_bsky["text"]) == ("v--bsky", "bsky", "Court\n\n#cm")
    assert (t["id"], t["accounts"], t["text"], t["thread"]) == ("t", "masto", "Un\n\n#cm", "1")


def test_csv_one_row_per_occurrence_of_a_recurring_post(project: Any, run: Any) -> None:
    project.calendar(
        "timezone: Europe/Paris\ndefaults:\n  accounts: [masto]\nposts:\n"
        "  - id: weekly\n    at: 2027-03-22 09:30\n"
        "    repeat: {every: week, count: 3}\n    text: Chaque semaine\n"
    )
    found = rows(run)
    assert [(r["id"], r["date"], r["time"]) for r in found] == [
        ("weekly~2027-03-22", "2027-03-22", "09:30"),
        ("weekly~2027-03-29", "2027-03-29", "09:30"),  # after the DST change: still 09:30
        ("weekly~2027-04-05", "2027-04-05", "09:30"),
    ]
    assert found[0]["key"] == "dec:weekly~2027-03-22@masto"


# ----------------------------------------------------------------------------------- JSON
def test_json_jobs_are_plan_jobs(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a", thread=["Deux"]), post("b"), accounts="[masto, bsky]"))
    exported = as_json(export(run, "json"))
    assert list(exported) == ["jobs"]
    assert exported["jobs"] == as_json(run("plan", "--json"))["jobs"]
    assert {j["state"] for j in exported["jobs"]} == {"planned"}


# ------------------------------------------------------------------------- --from, --to, -o
def test_from_to_are_local_days_both_included(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("nov30-late", at="2026-11-30 23:59"),
            post("dec1-early", at="2026-12-01 00:00"),  # 2026-11-30 23:00 UTC
            post("dec2-late", at="2026-12-02 23:59"),
            post("dec3", at="2026-12-03 00:00"),
        )
    )
    keep = ["dec1-early", "dec2-late"]
    assert [r["id"] for r in rows(run, "--from", "2026-12-01", "--to", "2026-12-02")] == keep
    assert len(events(run)) == 4  # default: everything, past included
    bad = run("export", "--format", "csv", "--from", "tomorrow")
    assert bad.exit_code == 2 and "not a date" in bad.stderr and "Traceback" not in bad.output


def test_output_file_is_replaced_whole(project: Any, run: Any, monkeypatch: Any) -> None:
    project.calendar(calendar(post("a")))
    target = project.root / "public" / "plan.ics"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o644)
    result = run("export", "--format", "ics", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert len(Calendar.from_ical(target.read_bytes()).walk("VEVENT")) == 1
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in target.parent.iterdir()) == ["plan.ics"]

    # a failure half-way leaves the old file and no temporary one
    def broken(*_: Any, **__: Any) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr("cmctl.export.calendar_ics", broken)
    before = target.read_bytes()
    assert run("export", "--format", "ics", "-o", str(target)).exit_code == 70
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["plan.ics"]


def test_output_dash_is_stdout_and_a_missing_folder_is_a_usage_error(
    project: Any, run: Any
) -> None:
    project.calendar(calendar(post("a")))
    assert rows(run, "-o", "-")[0]["id"] == "a"
    bad = run("export", "--format", "csv", "-o", str(project.root / "nope" / "plan.csv"))
    assert bad.exit_code == 2 and "cannot write" in bad.stderr and "Traceback" not in bad.output
    assert run("export", "--format", "csv", "-o", str(project.root)).exit_code == 2


def test_calendar_errors_export_nothing(project: Any, run: Any) -> None:
    project.calendar(calendar(post("a")))
    target = project.root / "plan.json"
    assert run("export", "--format", "json", "-o", str(target)).exit_code == 0
    before = target.read_bytes()
    project.calendar(calendar(post("a", accounts=["nobody"])))
    result = run("export", "--format", "json", "-o", str(target))
    assert result.exit_code == 1 and "nothing exported" in result.stderr
    assert target.read_bytes() == before
    assert json.loads(before)["jobs"][0]["key"] == "dec:a@masto"


def test_format_is_required(project: Any, run: Any) -> None:
    result = run("export")
    assert result.exit_code == 2 and "--format" in result.stderr


def test_listed_in_help(run: Any) -> None:
    assert "export" in run("--help").stdout
