"""`cmctl agenda --html`: the month page a CM sends the client.

Through the real CLI (escaping, the grid's days, states from the ledger, lengths, media
placeholders, writing the file), and once in a real headless Chromium (marker e2e) on the
repository's sample calendars, at desktop and phone widths, with a screenshot kept.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, calendar, post

INSTALL = "apt-get install -y chromium (Debian's package; /usr/bin/chromium)"


def png(width: int = 4, height: int = 3, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def page(run: Any, *args: str) -> str:
    result = run("agenda", "--html", "-", *args)
    assert result.exit_code == 0, result.output
    text: str = result.stdout
    assert text.startswith("<!DOCTYPE html>")
    return text


def days(html: str) -> dict[str, str]:
    """Each day cell's HTML, by its date."""
    grid = html.split('<ul class="legend">')[0]
    cells = re.split(r'(?=<div class="day[ "])', grid)
    found = {}
    for cell in cells[1:]:
        m = re.search(r'data-date="([0-9-]+)"', cell)
        assert m
        found[m.group(1)] = cell
    return found


def test_every_piece_of_user_text_is_escaped(project: Any, run: Any) -> None:
    project.write("media/pic.png", png())
    nasty = '<script>alert("x")</script> & \'single\' "double" </div>'
    project.calendar(
        calendar(
            post(
                "p1",
                text=nasty,
                media=[{"path": "../media/pic.png", "alt": '"><script>bad()</script>'}],
            ),
            accounts="[feed]",
        )
    )
    html = page(run, "--date", "2026-12-01")
    assert "<script" not in html  # no script of ours, none of theirs
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;single&#x27;" in html
    assert 'alt="&quot;&gt;&lt;script&gt;bad()&lt;/script&gt;"' in html  # quoted attribute
    assert "data:image/png;base64," in html
    # Tags balance: the text's "</div>" did not close a cell.
    assert html.count("<div") == html.count("</div>")


def test_a_month_starting_on_sunday_shows_six_weeks_from_monday(project: Any, run: Any) -> None:
    project.calendar(calendar(post("p1", at="2026-11-25 10:00"), accounts="[feed]"))
    html = page(run, "--date", "2026-11-10")
    cells = days(html)
    dates = list(cells)
    assert len(dates) == 42 and html.count('<div class="week">') == 6
    assert dates[0] == "2026-10-26" and dates[6] == "2026-11-01" and dates[-1] == "2026-12-06"
    assert "outside" in cells["2026-10-26"] and "outside" in cells["2026-12-06"]
    assert "outside" not in cells["2026-11-01"] and "outside" not in cells["2026-11-30"]
    assert 'data-post="p1"' in cells["2026-11-25"]
    assert "<h1>project · November 2026</h1>" in html


@pytest.mark.parametrize(
    ("month", "first", "last", "weeks"),
    [("2027-02-15", "2027-02-01", "2027-02-28", 4), ("2026-02-15", "2026-01-26", "2026-03-01", 5)],
)
def test_february(project: Any, run: Any, month: str, first: str, last: str, weeks: int) -> None:
    project.calendar(calendar(post("p1", at="2027-02-14 10:00"), accounts="[feed]"))
    html = page(run, "--date", month)
    dates = list(days(html))
    assert (dates[0], dates[-1], len(dates)) == (first, last, weeks * 7)
    assert ("outside" in days(html)[first]) is (first[5:7] != "02")


def test_a_dst_month_puts_each_post_on_its_local_day(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("before", at="2027-03-27 09:00"),
            post("same-day", at="2027-03-28 09:00"),  # the first hour after the change
            post("late", at="2027-03-28 23:30"),  # 21:30 UTC: still the 28th in Paris
            post("after", at="2027-10-31 00:30"),
            accounts="[feed]",
        )
    )
    cells = days(page(run, "--date", "2027-03-01"))
    assert 'data-post="before"' in cells["2027-03-27"]
    assert re.search(r'<time>09:00</time> <span class="pid">before', cells["2027-03-27"])
    assert re.search(r'<time>09:00</time> <span class="pid">same-day', cells["2027-03-28"])
    assert re.search(r'<time>23:30</time> <span class="pid">late', cells["2027-03-28"])
    assert "times in Europe/Paris" in page(run, "--date", "2027-03-01")
    october = days(page(run, "--date", "2027-10-01"))  # the hour that happens twice
    assert re.search(r'<time>00:30</time> <span class="pid">after', october["2027-10-31"])


def test_states_come_from_the_ledger_after_a_real_publish(
    project: Any, run: Any, now: Any, fake_mastodon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.config(
        f"""
        accounts:
          feed:
            network: feed
            path: public/feed.xml
          masto:
            network: mastodon
            instance: {fake_mastodon.url}
            token: ${{T}}
        defaults:
          timezone: Europe/Paris
        """
    )
    monkeypatch.setenv("T", "good-token")
    monkeypatch.setenv("CMCTL_HTTP_TIMEOUT", "2")
    project.calendar(
        calendar(
            post("missed-one", at="2026-11-30 09:00", text="Hier"),
            post("out-now", at="2026-12-01 09:30", text="Maintenant", thread=["Et la suite"]),
            post("tomorrow", at="2026-12-02 09:30", text="Demain"),
            post("idea", at="2026-12-03 09:30", text="Peut-être", status="draft"),
            accounts="[feed, masto]",
        )
    )
    before = days(page(run, "--date", "2026-12-01"))
    assert not (project.root / ".cmctl").exists()  # the ledger is read, never created
    grid = "".join(before.values())
    assert grid.count('s-pending"') == 6 and grid.count('s-draft"') == 2
    now.move_to("2026-12-01T08:31:00Z")
    published_run = run("publish")
    assert published_run.exit_code == 1, published_run.output  # 1: a post was missed
    cells = days(page(run, "--date", "2026-12-01"))
    today = cells["2026-12-01"]
    links = re.findall(r'<a class="badge s-published" href="([^"]+)"', today)
    urls = [s["url"] for s in fake_mastodon.statuses]
    assert len(urls) == 2 and links == urls  # the post's link, then its reply's
    # The feed writes a file: published, with no page to link to.
    assert '<span class="badge s-published"' in today and '<span class="who">feed' in today
    assert cells["2026-11-30"].count('s-missed"') == 2
    assert cells["2026-12-02"].count('s-pending"') == 2
    assert 's-draft"' in cells["2026-12-03"] and 'class="card draft"' in cells["2026-12-03"]
    legend = page(run, "--date", "2026-12-01").split('<ul class="legend">')[1]
    assert "missed" in legend and "published" in legend


def test_the_exact_text_and_its_length_against_the_limit(project: Any, run: Any) -> None:
    long = "Trop long " * 40  # 400 characters for a 300-grapheme network
    project.calendar(
        calendar(
            post("short", text="Court", hashtags=["marque"], link="https://b.example/a"),
            post("long", at="2026-12-02 10:00", text=long.strip()),
            accounts="[bsky]",
        )
    )
    cells = days(page(run, "--date", "2026-12-01"))
    short = cells["2026-12-01"]
    assert "https://b.example/a" in short and "#marque" in short  # the compiled text
    assert re.search(r'<span class="len">\d+/300 graphemes</span>', short)
    assert re.search(r'<span class="len over">399/300 graphemes</span>', cells["2026-12-02"])


def test_a_thread_shows_its_parts_in_order(project: Any, run: Any) -> None:
    project.calendar(
        calendar(
            post("fil", thread=[{"text": "Deux"}, {"text": "Trois"}], text="Un"),
            accounts="[feed]",
        )
    )
    cell = days(page(run, "--date", "2026-12-01"))["2026-12-01"]
    assert "thread · 3 parts" in cell
    assert re.search(r'<ol class="thread"><li>.*Un.*</li><li>.*Deux.*</li><li>.*Trois', cell)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "file missing or unreadable"),
        (b"just some text, not a picture", "unrecognised file: not shown here"),
        (png(), "too big to embed"),
    ],
)
def test_media_that_cannot_be_embedded_gets_a_placeholder(
    project: Any, run: Any, monkeypatch: pytest.MonkeyPatch, content: bytes | None, why: str
) -> None:
    from cmctl import agenda_html

    monkeypatch.setattr(agenda_html, "MAX_IMAGE_BYTES", 40)
    if content is not None:
        project.write("media/pic.png", content)
    media = [{"path": "../media/pic.png", "alt": "Le logo"}]
    project.calendar(calendar(post("p1", media=media), accounts="[feed]"))
    cell = days(page(run, "--date", "2026-12-01"))["2026-12-01"]
    assert '<div class="ph" role="img" aria-label="Le logo"><b>../media/pic.png</b>' in cell
    assert why in cell
    assert "<b>Alt:</b> Le logo" in cell
    assert "data:" not in cell


def test_a_page_embeds_images_up_to_its_budget_and_each_file_once(
    project: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmctl import agenda_html

    first, second = png(colour=(1, 2, 3)), png(colour=(4, 5, 6))
    monkeypatch.setattr(agenda_html, "MAX_PAGE_MEDIA_BYTES", len(first) + len(second) - 1)
    project.write("media/a.png", first)
    project.write("media/b.png", second)
    project.calendar(
        calendar(
            post("one", at="2026-12-01 09:00", media=[{"path": "../media/a.png", "alt": "A"}]),
            post("again", at="2026-12-02 09:00", media=[{"path": "../media/a.png", "alt": "A"}]),
            post("two", at="2026-12-03 09:00", media=[{"path": "../media/b.png", "alt": "B"}]),
            accounts="[feed]",
        )
    )
    cells = days(page(run, "--date", "2026-12-01"))
    assert 'alt="A"' in cells["2026-12-01"] and 'alt="A"' in cells["2026-12-02"]
    assert "not embedded: the page holds enough images already" in cells["2026-12-03"]


def test_the_page_reads_on_a_phone_and_prints(project: Any, run: Any) -> None:
    project.calendar(calendar(post("p1"), accounts="[feed]"))
    html = page(run, "--date", "2026-12-01")
    phone = html.split("@media (max-width:700px){")[1].split("\n}")[0]
    assert ".weekdays{display:none}" in phone and ".day.empty,.day.outside{display:none}" in phone
    printed = html.split("@media print{")[1].split("\n}")[0]
    assert "background:transparent!important" in printed
    assert ".week+.week{break-before:page}" in printed
    assert 'a[href]::after{content:" (" attr(href) ")"' in printed
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_the_page_is_written_atomically_and_bad_targets_are_usage_errors(
    project: Any, run: Any
) -> None:
    project.calendar(calendar(post("p1"), accounts="[feed]"))
    target = project.root / "out" / "agenda.html"
    target.parent.mkdir()
    target.write_text("old")
    result = run("agenda", "--html", str(target), "--date", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in target.parent.iterdir()) == ["agenda.html"]  # no temp left
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    missing = run("agenda", "--html", str(project.root / "nowhere" / "a.html"))
    assert missing.exit_code == 2 and "cannot write" in missing.output
    assert "Traceback" not in missing.output
    bad_date = run("agenda", "--html", "-", "--date", "2026-13-45")
    assert bad_date.exit_code == 2 and "Traceback" not in bad_date.output
    for extra in (["--week"], ["--json"]):
        refused = run("agenda", "--html", "-", *extra)
        assert refused.exit_code == 2 and "--html writes a month page" in refused.output


def test_the_default_month_is_this_month_by_the_clock(project: Any, run: Any, now: Any) -> None:
    project.calendar(calendar(post("p1", at="2027-01-10 10:00"), accounts="[feed]"))
    assert "<h1>project · November 2026</h1>" in page(run)  # DEFAULT_NOW: 2026-11-20
    now.move_to("2026-12-31T23:30:00Z")  # already January the 1st in Paris
    html = page(run)
    assert "<h1>project · January 2027</h1>" in html and 'data-post="p1"' in html


# ---------------------------------------------------------------------------- browser
def _browser() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CMCTL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CMCTL_REQUIRE_BROWSER=1 but no chromium: {INSTALL}")
        pytest.skip(f"no chromium: {INSTALL}")
    return found


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "HOME": str(profile)},
    )


def _png_variety(data: bytes) -> int:
    """How many distinct byte values a PNG's pixel data holds (zlib, no image library):
    a page of one colour has a handful (its colour and the row filters), a page of text
    and pictures nearly all 256."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat = 8, b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(idat)))


@pytest.mark.e2e
def test_the_sample_month_in_a_real_browser(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = _browser()
    assert browser is not None
    sample = tmp_path / "atelier-agora"  # a copy: the repository's own folder stays as it is
    sample.mkdir()
    shutil.copy(REPO / "cmctl.yaml", sample / "cmctl.yaml")
    shutil.copytree(REPO / "calendars", sample / "calendars")
    monkeypatch.chdir(sample)
    target = tmp_path / "agenda.html"
    result = run("agenda", "--html", str(target), "--date", "2026-12-01")
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    # The dated and recurring posts of the sample (queued ones take slots from now on).
    sample_posts = yaml.safe_load(
        (REPO / "calendars").joinpath("2026-12-metier-cm.yaml").read_text(encoding="utf-8")
    )["posts"]
    posts = [p["id"] for p in sample_posts if "queue" not in p]
    assert len(posts) > 5
    # Nothing to fetch: every src/href of <link>, <script> and <img> is a data: URI.
    for tag, attr, value in re.findall(
        r'<(link|script|img)\b[^>]*?\b(src|href)="([^"]*)"', html, re.I
    ):
        assert value.startswith("data:"), (tag, attr, value[:80])
    assert "<img " in html and "<script" not in html and "<link" not in html
    artifacts = Path(os.environ.get("CMCTL_ARTIFACTS") or tmp_path / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    for name, size in (("desktop", "1280,2000"), ("phone", "390,2000")):
        dom = _chromium(
            browser,
            tmp_path / f"profile-{name}",
            f"--window-size={size}",
            "--dump-dom",
            target.as_uri(),
        ).stdout
        for post_id in posts:
            assert f'data-post="{post_id}' in dom, post_id  # occurrences: post~date
        assert "Décembre, c’est le mois des coulisses chez Atelier Agora" in dom
        shot = artifacts / f"agenda-{name}.png"
        shot.unlink(missing_ok=True)
        _chromium(
            browser,
            tmp_path / f"profile-{name}-shot",
            f"--window-size={size}",
            f"--screenshot={shot}",
            target.as_uri(),
        )
        data = shot.read_bytes()
        print(f"screenshot: {shot} ({len(data):,} bytes)")
        assert len(data) > 20_000, "a page of posts is more than a few KB of PNG"
        assert _png_variety(data) > 64, "the screenshot is (nearly) one colour"
    shutil.copy(target, artifacts / "agenda.html")
