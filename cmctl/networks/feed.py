# Feed: cmctl writes each post into a local Atom or JSON Feed file that a static
# site, a feed reader or another tool picks up (publish the file with your site, or
# point an IFTTT/Zapier "new feed item" trigger at it). Nothing leaves the machine.
#
# Credentials
#   None. The account names the file and, optionally, the feed's own metadata:
#       network: feed
#       path: site/static/feed.xml      # created if missing; .json means JSON Feed
#       format: atom                    # or json; default from the file extension
#       title: Our news
#       link: https://example.com/      # the site the feed belongs to
#
# Formats (the sources for what a feed may hold)
#   - Atom, RFC 4287: https://www.rfc-editor.org/rfc/rfc4287 (entries, `content`,
#     enclosures as <link rel="enclosure" type=... length=...>, threading replies per
#     RFC 4685 https://www.rfc-editor.org/rfc/rfc4685 with <thr:in-reply-to>).
#   - JSON Feed 1.1: https://www.jsonfeed.org/version/1.1/ (items, `content_text`,
#     `attachments` with `mime_type` and `size_in_bytes`).
#   Neither format limits the length of an entry or the number or size of enclosures.
#
# Limits
#   - No text limit (max_length None).
#   - Media: common web image and video types with generous ceilings (100 MB per image,
#     2 GB per video, 50 files), chosen by cmctl, since the formats set none.
#   - Threads: yes. Follow-up parts become entries that reply to the previous one
#     (Atom: thr:in-reply-to; JSON Feed has no reply field, but an extension object,
#     a key starting with "_", can carry it).
#
# Publishing: appending an entry (nothing is sent anywhere)
#   Each part becomes one entry at the top of the file (newest first):
#   - Atom: <entry> with <id>urn:cmctl:{job key}</id>, <title> (the first line),
#     <published>/<updated> (the moment it was written), <content type="text">, one
#     <link rel="enclosure" href type length title=alt> per media file, and for a
#     thread part <thr:in-reply-to ref="{parent entry id}"/> (RFC 4685 section 3).
#     The feed's own <updated> moves to that moment (RFC 4287 section 4.2.15).
#   - JSON Feed 1.1: an item with id, content_text, date_published, language,
#     attachments [{url, mime_type, size_in_bytes, title=alt}] and the extension
#     "_cmctl": {about, key, calendar, post, part, in_reply_to} (section "Extensions":
#     a custom key starts with "_"; "about" points to its documentation).
#   Media are referenced by their path relative to the feed file's folder (URL-
#   escaped), so a site that publishes the folder serves them next to the feed.
#   The format is `format` ("atom" | "json") or else the extension (.json: JSON Feed).
#
# Idempotency and concurrency (idempotency_window = None)
#   The entry id is derived from the job, so publishing the same job again finds its
#   entry and returns it instead of adding a second one, however late. Every change
#   happens under an exclusive lock (fcntl.flock on "<file>.lock" next to the feed;
#   msvcrt on Windows) around read-modify-write, and the new file is written to a
#   temporary file in the same folder, flushed, fsync'ed, then os.replace'd over the
#   old one (atomic on POSIX and Windows): concurrent publishers never lose or
#   duplicate an entry, and a reader or a crash never sees half a file.
#   A feed file cmctl cannot parse is never overwritten: publishing fails (Permanent)
#   until someone repairs or moves it.

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from cmctl import atomic, clock
from cmctl.networks.base import (
    OPEN_MEDIA,
    OPEN_MEDIA_MAX,
    AccountField,
    Idempotency,
    MediaKind,
    Network,
    Permanent,
    Sent,
    Transient,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from cmctl.networks.base import Attachment, Outgoing

ATOM = "http://www.w3.org/2005/Atom"
THR = "http://purl.org/syndication/thread/1.0"  # RFC 4685
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ABOUT = "https://github.com/cmctl/cmctl"
TITLE_LENGTH = 100


class Feed(Network):
    name: ClassVar[str] = "feed"
    title: ClassVar[str] = "Feed (Atom / JSON Feed)"
    docs_url: ClassVar[str] = "https://www.jsonfeed.org/version/1.1/"
    api_base: ClassVar[str | None] = None  # no API: a local file (api_url is accepted, unused)

    max_length: ClassVar[int | None] = None

    media_kinds: ClassVar[tuple[MediaKind, ...]] = OPEN_MEDIA
    max_media: ClassVar[int] = OPEN_MEDIA_MAX
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = True

    publishes: ClassVar[bool] = True
    # The entry id comes from the job: a second publish finds the first (see above).
    idempotency_window: ClassVar[timedelta | None] = None
    idempotency: ClassVar[Idempotency] = Idempotency.CHOSEN_ID

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "path",
            required=True,
            help="the local feed file to write (Atom .xml/.atom or JSON Feed .json)",
        ),
        AccountField(
            "format",
            help='"atom" or "json"; by default taken from the file extension '
            "(.json: JSON Feed, anything else: Atom)",
        ),
        AccountField("title", help="the feed's title"),
        AccountField("link", help="URL of the site the feed belongs to"),
    )
    local_paths: ClassVar[tuple[str, ...]] = ("path",)  # relative to cmctl.yaml

    # ------------------------------------------------------------------ publishing
    @property
    def path(self) -> Path:
        value = self.options.get("path")
        if not value:
            raise Permanent("the account has no `path` for its feed file")
        return Path(str(value))

    @property
    def format(self) -> str:
        wanted = str(self.options.get("format") or "").strip().lower()
        if wanted in ("atom", "json"):
            return wanted
        if wanted:
            raise Permanent(f'feed format must be "atom" or "json", not {wanted!r}')
        return "json" if self.path.suffix.lower() == ".json" else "atom"

    def publish(self, out: Outgoing) -> Sent:
        path, fmt = self.path, self.format
        entry_id = entry_id_for(out.key)
        sent = Sent(remote_id=entry_id, ref={"id": entry_id})
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with locked(path):
                existing = _read(path)
                if fmt == "json":
                    feed = self._json_feed(path, existing)
                    if any(
                        item.get("id") == entry_id
                        for item in feed["items"]
                        if isinstance(item, dict)
                    ):
                        return sent
                    feed["items"].insert(0, self._json_item(out, entry_id, path.parent))
                    data = (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()
                else:
                    root = self._atom_feed(path, existing)
                    if any(
                        (e.findtext(f"{{{ATOM}}}id") or "").strip() == entry_id
                        for e in root.iter(f"{{{ATOM}}}entry")
                    ):
                        return sent
                    _atom_add(root, self._atom_entry(out, entry_id, path.parent))
                    data = _atom_bytes(root)
                write_atomically(path, data)
        except PermissionError as exc:
            raise Permanent(f"cannot write the feed {path}: {exc.strerror}") from None
        except OSError as exc:
            raise Transient(f"cannot write the feed {path}: {exc.strerror or exc}") from None
        return sent

    def check(self) -> str:
        path, fmt = self.path, self.format
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=path.parent)
            os.close(fd)
            os.unlink(probe)
            existing = _read(path)
        except OSError as exc:
            raise Permanent(f"cannot write in {path.parent}: {exc.strerror or exc}") from None
        if fmt == "json":
            count = len(self._json_feed(path, existing)["items"])
        else:
            count = len(self._atom_feed(path, existing).findall(f"{{{ATOM}}}entry"))
        state = f"{count} entr{'y' if count == 1 else 'ies'}" if existing else "will be created"
        return f"{'JSON Feed' if fmt == 'json' else 'Atom feed'} {path} ({state})"

    # --- JSON Feed 1.1 ---------------------------------------------------------------
    def _json_feed(self, path: Path, existing: bytes | None) -> dict[str, Any]:
        if existing is None:
            feed: dict[str, Any] = {"version": JSON_FEED_VERSION, "title": self._title()}
            if self.options.get("link"):
                feed["home_page_url"] = str(self.options["link"])
            feed["items"] = []
            return feed
        try:
            feed = json.loads(existing.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _corrupt(path, f"not valid JSON ({exc})") from None
        if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
            raise _corrupt(path, 'not a JSON Feed (no "items" list)')
        return feed

    def _json_item(self, out: Outgoing, entry_id: str, folder: Path) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": entry_id,
            "content_text": out.text,
            "date_published": _now(),
        }
        if out.lang:
            item["language"] = out.lang[0]
        attachments = []
        for media in out.media:
            mime, size = _facts(media)
            attachment: dict[str, Any] = {"url": media_url(media, folder), "mime_type": mime}
            if size is not None:
                attachment["size_in_bytes"] = size
            if media.alt:
                attachment["title"] = media.alt
            attachments.append(attachment)
        if attachments:
            item["attachments"] = attachments
        item["_cmctl"] = {
            "about": ABOUT,
            "key": out.key,
            "calendar": out.calendar,
            "post": out.post_id,
            "part": out.part,
            "in_reply_to": out.reply_to.remote_id if out.reply_to is not None else None,
        }
        return item

    # --- Atom (RFC 4287) ---------------------------------------------------------------
    def _atom_feed(self, path: Path, existing: bytes | None) -> Element:
        from xml.etree import ElementTree as ET

        if existing is None:
            root = ET.Element(f"{{{ATOM}}}feed")
            name = str(getattr(self.account, "name", self.account))
            ET.SubElement(root, f"{{{ATOM}}}id").text = f"urn:cmctl:feed:{name}"
            ET.SubElement(root, f"{{{ATOM}}}title").text = self._title()
            ET.SubElement(root, f"{{{ATOM}}}updated").text = _now()
            author = ET.SubElement(root, f"{{{ATOM}}}author")
            ET.SubElement(author, f"{{{ATOM}}}name").text = self._title()
            if self.options.get("link"):
                ET.SubElement(
                    root, f"{{{ATOM}}}link", {"rel": "alternate", "href": str(self.options["link"])}
                )
            ET.SubElement(root, f"{{{ATOM}}}generator", {"uri": ABOUT}).text = "cmctl"
            return root
        try:
            root = ET.fromstring(existing)
        except ET.ParseError as exc:
            raise _corrupt(path, f"not well-formed XML ({exc})") from None
        if root.tag != f"{{{ATOM}}}feed":
            raise _corrupt(path, f"not an Atom feed (its root element is {root.tag})")
        return root

    def _atom_entry(self, out: Outgoing, entry_id: str, folder: Path) -> Element:
        from xml.etree import ElementTree as ET

        now = _now()
        entry = ET.Element(f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = entry_id
        ET.SubElement(entry, f"{{{ATOM}}}title", {"type": "text"}).text = _title_of(out)
        ET.SubElement(entry, f"{{{ATOM}}}published").text = now
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = now
        content = ET.SubElement(entry, f"{{{ATOM}}}content", {"type": "text"})
        content.text = out.text
        if out.lang:
            content.set("{http://www.w3.org/XML/1998/namespace}lang", out.lang[0])
        for media in out.media:
            mime, size = _facts(media)
            link = {"rel": "enclosure", "href": media_url(media, folder), "type": mime}
            if size is not None:
                link["length"] = str(size)
            if media.alt:
                link["title"] = media.alt
            ET.SubElement(entry, f"{{{ATOM}}}link", link)
        if out.reply_to is not None:
            ET.SubElement(entry, f"{{{THR}}}in-reply-to", {"ref": out.reply_to.remote_id})
        return entry

    def _title(self) -> str:
        title = self.options.get("title")
        if title:
            return str(title)
        return f"{getattr(self.account, 'name', self.account)} (cmctl)"

    # ------------------------------------------------------------------ settled by hand
    def reference(self, url: str) -> Sent | None:
        """The entry a human says is this part: found in the feed file by its id (the
        urn:cmctl:... cmctl writes, or any id an entry added by hand has) or by one of
        its links (Atom <link href>, JSON Feed ``url`` / ``external_url``). A reply
        refers to the entry id (thr:in-reply-to ref, RFC 4685; ``_cmctl.in_reply_to``)."""
        path, fmt = self.path, self.format
        wanted = url.strip()
        try:
            existing = _read(path)
        except OSError as exc:
            raise Transient(f"cannot read the feed {path}: {exc.strerror or exc}") from None
        found: tuple[str, str | None] | None = None
        if existing is not None and fmt == "json":
            for item in self._json_feed(path, existing)["items"]:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    continue
                links = [item.get("url"), item.get("external_url")]
                if wanted == item["id"] or wanted in links:
                    link = item.get("url")
                    found = (item["id"], link if isinstance(link, str) else None)
                    break
        elif existing is not None:
            for entry in self._atom_feed(path, existing).iter(f"{{{ATOM}}}entry"):
                entry_id = (entry.findtext(f"{{{ATOM}}}id") or "").strip()
                hrefs = [
                    link.get("href")
                    for link in entry.iter(f"{{{ATOM}}}link")
                    if link.get("rel", "alternate") == "alternate"
                ]
                if entry_id and (wanted == entry_id or wanted in hrefs):
                    found = (entry_id, next((h for h in hrefs if h), None))
                    break
        if found is None:
            raise Permanent(f"the feed {path} has no entry whose id or link is {wanted!r}")
        return Sent(remote_id=found[0], url=found[1] or wanted, ref={"id": found[0]})


def entry_id_for(key: str) -> str:
    """``urn:cmctl:{key}``, with spaces and the characters an IRI forbids %-escaped."""
    return "urn:cmctl:" + "".join(
        quote(c, safe="")
        if c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in '<>"{}|\\^`'
        else c
        for c in key
    )


def media_url(media: Attachment, folder: Path) -> str:
    """The media file's path relative to the feed's folder, as a URL path."""
    try:
        relative = os.path.relpath(media.path, folder)
    except ValueError:  # another drive (Windows)
        return media.path.as_uri()
    return quote(Path(relative).as_posix(), safe="/-._~")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock on ``<path>.lock`` (kept: removing a lock file races)."""
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        if sys.platform == "win32":
            import msvcrt

            lock.seek(0)
            while True:
                try:
                    msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after ~10 s: keep waiting
                    continue
            try:
                yield
            finally:
                lock.seek(0)
                msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def write_atomically(path: Path, data: bytes) -> None:
    """The feed file replaced atomically (cmctl.atomic); a new one is world-readable."""
    atomic.write_bytes(path, data, new_mode=0o644)


def _read(path: Path) -> bytes | None:
    """The feed file's bytes; None when it does not exist or holds only whitespace."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data if data.strip() else None


def _corrupt(path: Path, why: str) -> Permanent:
    return Permanent(
        f"the feed file {path} is {why}; cmctl will not overwrite it: repair it, or move "
        "it away to start a new feed"
    )


def _atom_add(root: Element, entry: Element) -> None:
    """Put ``entry`` first among the entries and move the feed's <updated>."""
    from xml.etree import ElementTree as ET

    updated = root.find(f"{{{ATOM}}}updated")
    if updated is None:
        updated = ET.SubElement(root, f"{{{ATOM}}}updated")
    updated.text = entry.findtext(f"{{{ATOM}}}updated")
    children = list(root)
    first = next((i for i, c in enumerate(children) if c.tag == f"{{{ATOM}}}entry"), None)
    root.insert(len(children) if first is None else first, entry)


def _atom_bytes(root: Element) -> bytes:
    from xml.etree import ElementTree as ET

    ET.register_namespace("thr", THR)
    # Atom as the default namespace (<feed xmlns=...>, not <ns0:feed>). Not through
    # tostring(default_namespace=...), which refuses unqualified attributes (href, ref).
    ET.register_namespace("", ATOM)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def _facts(media: Attachment) -> tuple[str, int | None]:
    from cmctl.media import facts

    try:
        found = facts(media.path, media.root)
    except OSError:
        return "application/octet-stream", None
    return found.mime_type or "application/octet-stream", found.size


def _title_of(out: Outgoing) -> str:
    line = next((ln.strip() for ln in out.text.splitlines() if ln.strip()), "")
    if not line:
        return out.post_id if out.part == 0 else f"{out.post_id} ({out.part + 1})"
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _now() -> str:
    return clock.now().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
