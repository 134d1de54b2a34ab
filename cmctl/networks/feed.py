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

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import MB, AccountField, MediaKind, Network


class Feed(Network):
    name: ClassVar[str] = "feed"
    title: ClassVar[str] = "Feed (Atom / JSON Feed)"
    docs_url: ClassVar[str] = "https://www.jsonfeed.org/version/1.1/"

    max_length: ClassVar[int | None] = None

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"}),
            max_bytes=100 * MB,
            max_count=50,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_bytes=2048 * MB,
            max_count=50,
        ),
    )
    max_media: ClassVar[int] = 50
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = True

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
