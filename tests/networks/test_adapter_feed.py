"""The feed adapter: Atom (RFC 4287 + RFC 4685 threading) and JSON Feed 1.1 files.

The file is the network here: entries are checked by parsing the written file, and
the guarantees are tested directly: concurrent publishers lose and duplicate nothing,
a second publish of the same job adds nothing, a corrupt file is never touched.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from cmctl import clock
from cmctl.networks.base import Attachment, Outgoing, Permanent, Sent
from cmctl.networks.feed import Feed, entry_id_for
from tests.networks.helpers import make_outgoing
from tests.process import Processes, processes_fixture  # noqa: F401 (the fixture)

ATOM = "{http://www.w3.org/2005/Atom}"
THR = "{http://purl.org/syndication/thread/1.0}"
NOW = datetime(2026, 12, 1, 8, 30, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def outgoing(key: str = "dec:launch@feed", **changes: Any) -> Outgoing:
    text = changes.pop("text", "We launch today\n\nhttps://example.com/launch #news")
    return make_outgoing(key, text, scheduled_at=NOW, **changes)


def feed(path: Path, **options: Any) -> Feed:
    return Feed("feed", {"path": str(path), **options}, None, path.parent / ".cmctl")  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


def atom_entries(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def json_items(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    items: list[dict[str, Any]] = document["items"]
    return items


def leftovers(folder: Path) -> list[str]:
    """Files other than feeds, their lock files and media: temp files must not remain."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and not p.name.endswith((".xml", ".json", ".lock", ".png"))
    )


# --- declaration --------------------------------------------------------------------


def test_declares_publishing_with_a_forever_idempotency() -> None:
    assert Feed.publishes is True
    assert Feed.idempotency_window is None


# --- Atom ---------------------------------------------------------------------------


def test_atom_feed_is_created_with_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "site" / "feed.xml"
    image = tmp_path / "site" / "media" / "cover image.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(PNG)
    out = outgoing(media=(Attachment(image, "A red rocket"),))

    sent = feed(path, title="Our news", link="https://example.com/").publish(out)

    assert sent == Sent(remote_id="urn:cmctl:dec:launch@feed", ref={"id": sent.remote_id})
    root = ET.parse(path).getroot()
    # RFC 4287 4.1.1: a feed has id, title, updated, and an author (or every entry has).
    assert root.findtext(f"{ATOM}id")
    assert root.findtext(f"{ATOM}title") == "Our news"
    assert root.findtext(f"{ATOM}updated") == "2026-12-01T08:30:00Z"
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert root.find(f"{ATOM}link").get("href") == "https://example.com/"  # type: ignore[union-attr]
    (entry,) = atom_entries(path)
    assert entry.findtext(f"{ATOM}id") == "urn:cmctl:dec:launch@feed"
    assert entry.findtext(f"{ATOM}title") == "We launch today"
    assert entry.findtext(f"{ATOM}updated") == "2026-12-01T08:30:00Z"
    assert entry.findtext(f"{ATOM}published") == "2026-12-01T08:30:00Z"
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "text"
    assert content.text == out.text
    enclosure = entry.find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure is not None
    assert enclosure.attrib == {
        "rel": "enclosure",
        "href": "media/cover%20image.png",
        "type": "image/png",
        "length": str(len(PNG)),
        "title": "A red rocket",
    }
    assert entry.find(f"{THR}in-reply-to") is None
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="utf-8"?>')


def test_atom_newest_first_and_thread_parts_reply_per_rfc_4685(tmp_path: Path) -> None:
    path = tmp_path / "feed.atom"
    publisher = feed(path)
    first = publisher.publish(outgoing())
    second = publisher.publish(
        outgoing("dec:launch@feed#1", part=1, text="Part two", reply_to=first, root=first)
    )
    ids = [e.findtext(f"{ATOM}id") for e in atom_entries(path)]
    assert ids == [second.remote_id, first.remote_id]
    reply = atom_entries(path)[0].find(f"{THR}in-reply-to")
    assert reply is not None and reply.get("ref") == first.remote_id
    assert b'xmlns:thr="http://purl.org/syndication/thread/1.0"' in path.read_bytes()


def test_an_existing_atom_feed_keeps_its_entries_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>tag:example.com,2026:feed</id><title>Hand made</title>"
        "<updated>2026-01-01T00:00:00Z</updated><author><name>Me</name></author>"
        "<entry><id>tag:example.com,2026:1</id><title>Old</title>"
        "<updated>2026-01-01T00:00:00Z</updated><content>old</content></entry></feed>",
        encoding="utf-8",
    )
    feed(path).publish(outgoing())
    root = ET.parse(path).getroot()
    assert root.findtext(f"{ATOM}id") == "tag:example.com,2026:feed"
    assert root.findtext(f"{ATOM}title") == "Hand made"
    assert root.findtext(f"{ATOM}updated") == "2026-12-01T08:30:00Z"
    ids = [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
    assert ids == ["urn:cmctl:dec:launch@feed", "tag:example.com,2026:1"]


# --- JSON Feed ----------------------------------------------------------------------


def test_json_feed_item_with_attachments_and_the_cmctl_extension(tmp_path: Path) -> None:
    path = tmp_path / "out" / "feed.json"
    image = tmp_path / "img.png"
    image.write_bytes(PNG)
    publisher = feed(path, title="Our news", link="https://example.com/")
    first = publisher.publish(outgoing(media=(Attachment(image, None),)))
    second = publisher.publish(
        outgoing("dec:launch@feed#1", part=1, text="Part two", reply_to=first, root=first, lang=())
    )

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["title"] == "Our news"
    assert document["home_page_url"] == "https://example.com/"
    newest, oldest = json_items(path)
    assert newest["id"] == second.remote_id == "urn:cmctl:dec:launch@feed#1"
    assert newest["_cmctl"]["in_reply_to"] == first.remote_id
    assert "language" not in newest and "attachments" not in newest
    assert oldest == {
        "id": "urn:cmctl:dec:launch@feed",
        "content_text": outgoing().text,
        "date_published": "2026-12-01T08:30:00Z",
        "language": "en",
        "attachments": [{"url": "../img.png", "mime_type": "image/png", "size_in_bytes": len(PNG)}],
        "_cmctl": {
            "about": "https://github.com/cmctl/cmctl",
            "key": "dec:launch@feed",
            "calendar": "dec",
            "post": "launch",
            "part": 0,
            "in_reply_to": None,
        },
    }


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("feed.json", {}, "json"),
        ("feed.xml", {}, "atom"),
        ("feed.txt", {"format": "json"}, "json"),
        ("feed.json", {"format": "ATOM"}, "atom"),
    ],
)
def test_format_from_option_or_extension(
    tmp_path: Path, name: str, options: dict[str, str], expected: str
) -> None:
    assert feed(tmp_path / name, **options).format == expected


def test_an_unknown_format_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(Permanent, match="atom"):
        feed(tmp_path / "feed.xml", format="rss").publish(outgoing())


# --- idempotency and concurrency ----------------------------------------------------


@pytest.mark.parametrize("name", ["feed.xml", "feed.json"])
def test_publishing_the_same_job_again_adds_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    first = feed(path).publish(outgoing())
    before = path.read_bytes()
    again = feed(path).publish(outgoing(text="edited meanwhile"))
    assert again == first
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["feed.xml", "feed.json"])
def test_concurrent_publishers_neither_lose_nor_duplicate(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    start = threading.Barrier(25)
    errors: list[BaseException] = []

    def publish(worker: int) -> None:
        start.wait()
        try:
            # Two jobs per worker, each published twice (a retry), each by its own adapter.
            for n in (worker, worker + 25):
                for _ in range(2):
                    feed(path).publish(outgoing(f"dec:p{n}@feed", post_id=f"p{n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    if name.endswith(".json"):
        ids = [item["id"] for item in json_items(path)]
    else:
        ids = [e.findtext(f"{ATOM}id") for e in atom_entries(path)]
    assert len(ids) == 50
    assert set(ids) == {entry_id_for(f"dec:p{n}@feed") for n in range(50)}
    assert leftovers(tmp_path) == []


# --- a corrupt file -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("feed.xml", b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>"),
        ("feed.xml", b"<rss version='2.0'><channel/></rss>"),
        ("feed.json", b'{"version": "https://jsonfeed.org/version/1.1", "items": [}'),
        ("feed.json", b'["not", "a", "feed"]'),
        ("feed.json", b"\xff\xfe garbage"),
    ],
)
def test_a_corrupt_feed_is_permanent_and_left_untouched(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    stat = path.stat()
    with pytest.raises(Permanent) as caught:
        feed(path).publish(outgoing())
    assert str(path) in caught.value.message and "will not overwrite" in caught.value.message
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert leftovers(tmp_path) == []
    with pytest.raises(Permanent):
        feed(path).check()


def test_an_empty_file_is_a_new_feed(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"")
    feed(path).publish(outgoing())
    assert len(atom_entries(path)) == 1


def test_the_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    feed(path).publish(outgoing())
    os.chmod(path, 0o640)
    feed(path).publish(outgoing("dec:other@feed"))
    assert path.stat().st_mode & 0o777 == 0o640


# --- check --------------------------------------------------------------------------


def test_check_creates_the_folder_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "feed.xml"
    assert feed(path).check() == f"Atom feed {path} (will be created)"
    assert path.parent.is_dir() and not path.exists()
    feed(path).publish(outgoing())
    assert feed(path).check() == f"Atom feed {path} (1 entry)"
    assert leftovers(path.parent) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere"
)
def test_check_fails_when_the_folder_is_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(Permanent, match="cannot write"):
            feed(folder / "feed.xml").check()
        with pytest.raises(Permanent, match="cannot write"):
            feed(folder / "feed.xml").publish(outgoing())
    finally:
        folder.chmod(0o700)


def test_check_fails_when_the_folder_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(Permanent, match="cannot write"):
        feed(blocker / "feed.xml").check()


def test_concurrent_processes_neither_lose_nor_duplicate(
    tmp_path: Path, processes: Processes
) -> None:
    path = tmp_path / "feed.xml"
    code = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from cmctl.networks.base import Outgoing\n"
        "from cmctl.networks.feed import Feed\n"
        "worker, path = int(sys.argv[1]), sys.argv[2]\n"
        "for n in range(worker * 10, worker * 10 + 10):\n"
        "    key = f'dec:p{n}@feed'\n"
        "    out = Outgoing(key=key, idempotency_key=key, calendar='dec', post_id=f'p{n}',\n"
        "                   part=0, text=f'post {n}', media=(), lang=(),\n"
        "                   scheduled_at=datetime(2026, 12, 1, tzinfo=UTC))\n"
        "    Feed('feed', {'path': path}, None, None).publish(out)\n"
    )
    root = Path(__file__).parents[2]
    workers = [
        processes.popen([sys.executable, "-c", code, str(w), str(path)], cwd=root) for w in range(4)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    ids = [e.findtext(f"{ATOM}id") or "" for e in atom_entries(path)]
    assert sorted(ids) == sorted(entry_id_for(f"dec:p{n}@feed") for n in range(40))
