# Bluesky: the AT Protocol social app (https://bsky.app). A post is an
# `app.bsky.feed.post` record written to your repository on your PDS (Personal Data
# Server) with com.atproto.repo.createRecord; images are blobs uploaded first with
# com.atproto.repo.uploadBlob and referenced from an `app.bsky.embed.images` embed.
#
# Credentials
#   In the Bluesky app: Settings → Privacy and security → App passwords → Add App
#   Password. Name it (e.g. "cmctl"), leave "Allow access to your direct messages"
#   off, and copy the password shown once (xxxx-xxxx-xxxx-xxxx). Never use your main
#   password. cmctl logs in with com.atproto.server.createSession. In cmctl.yaml:
#       network: bluesky
#       handle: you.bsky.social                 # or your own domain handle
#       app_password: ${BLUESKY_APP_PASSWORD}
#       service: https://bsky.social            # only if your account lives on another PDS
#
# Sources for every limit below (lexicons from bluesky-social/atproto, as vendored in
# ../shared/conformance/atproto/lexicons/, commit d6296a1, 2026-08-20)
#   - Text: app.bsky.feed.post, property `text`: "maxGraphemes": 300 and
#     "maxLength": 3000 (lexicon string maxLength counts UTF-8 bytes, see
#     https://atproto.com/specs/lexicon#string). Both apply: a text of 300 emoji
#     families can be under the grapheme limit and over the byte limit.
#     https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json
#   - Images: app.bsky.embed.images: `images` maxLength 4; each `image` blob
#     "accept": ["image/*"], "maxSize": 2000000 ("May be up to 2 MB, formerly limited
#     to 1 MB", raised in atproto PR #4823, April 2026).
#     https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/images.json
#   - Video: app.bsky.embed.video: one `video` blob, "accept": ["video/mp4"],
#     "maxSize": 300000000 ("May be up to 300mb, formerly limited to 100mb",
#     atproto PR #5373, August 2026).
#     https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/video.json
#     Upload flow and per-day video quotas: https://docs.bsky.app/docs/tutorials/video
#   - No mixing: a post has one `embed`, a union of images | video | gallery |
#     external | record | recordWithMedia, so images and a video never share a post.
#   - Threads: a reply is a post whose `reply` has `root` and `parent` strong refs
#     (app.bsky.feed.post#replyRef).
#
# Conservative choices
#   - Image types: the lexicon accepts image/*; the AppView resizes with sharp, which
#     reads JPEG, PNG, WebP and GIF (packages/bsky/src/image/util.ts). We accept those
#     four only. A GIF is shown as a still image (its first frame).
#   - 4 images, not 10: the newer app.bsky.embed.gallery (June 2026) takes up to 10
#     images, but every client must support it first; app.bsky.embed.images (4) is
#     what every client shows today.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import AccountField, MediaKind, Network


class Bluesky(Network):
    name: ClassVar[str] = "bluesky"
    title: ClassVar[str] = "Bluesky"
    docs_url: ClassVar[str] = (
        "https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json"
    )

    max_length: ClassVar[int | None] = 300
    length_unit: ClassVar[str] = "graphemes"
    max_bytes: ClassVar[int | None] = 3000

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
            max_bytes=2_000_000,
            max_count=4,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4"}),
            max_bytes=300_000_000,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 4
    mixed_media: ClassVar[bool] = False

    threads: ClassVar[bool] = True

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "handle",
            required=True,
            help="your handle, e.g. you.bsky.social (or your DID)",
        ),
        AccountField(
            "app_password",
            required=True,
            secret=True,
            help="an app password (Settings → Privacy and security → App passwords), "
            "never your main password",
        ),
        AccountField(
            "service",
            default="https://bsky.social",
            help="URL of the PDS that hosts your account",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """Grapheme clusters, as the lexicon's maxGraphemes counts them."""
        from cmctl.text.units import count_graphemes

        return count_graphemes(text)
