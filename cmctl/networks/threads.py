# Threads: Meta's text-first network (https://www.threads.com). A post is published
# in two steps through the Threads API: POST /{threads-user-id}/threads creates a
# media container (TEXT, IMAGE, VIDEO, or CAROUSEL from up to 20 item containers),
# POST /{threads-user-id}/threads_publish publishes it. A reply chain is made by
# creating each next container with `reply_to_id` set to the post before. Threads
# fetches images and videos from a public URL, so media must be reachable on a public
# server at publishing time.
#
# Credentials (the adapter comes later; today a Threads account takes only
# `network: threads`)
#   https://developers.facebook.com/apps → Create app → use case "Access the Threads
#   API". Under Use cases → Customize → Settings, add your Threads account as a
#   Threads tester and accept the invitation in Threads (Settings → Account → Website
#   permissions → Invites). Authorise with the scopes `threads_basic` and
#   `threads_content_publish` (add `threads_manage_replies` to control replies), then
#   exchange the short-lived token for a long-lived one (60 days, refreshable with
#   GET /refresh_access_token).
#
# Sources for every limit below
#   - "Text posts are limited to 500 characters." and "Emojis are counted as the number
#     of UTF-8 bytes." (the second sentence links to the grapheme-splitter package):
#     https://developers.facebook.com/docs/threads/posts (Single thread posts,
#     Limitations).
#   - Carousel: the `children` of a CAROUSEL container: "Carousels can have at least 2
#     and up to 20 total images or videos or a mix of the two":
#     https://developers.facebook.com/docs/threads/posts (Carousel posts), so images
#     and videos may share a post.
#   - Media specifications (same page, "Media specifications"): images JPEG and PNG,
#     "File size: 8 MB maximum"; video container MOV or MP4, "File size: 1 GB maximum",
#     5 minutes.
#   - Replies from the same account: `reply_to_id` on POST /{threads-user-id}/threads,
#     https://developers.facebook.com/docs/threads/reply-management
#
# How `count` reads "emojis are counted as the number of UTF-8 bytes"
#   The text is split into grapheme clusters (what the linked grapheme-splitter does).
#   A cluster that is an emoji (it holds an Extended_Pictographic code point, a
#   regional indicator of a flag, or the keycap mark U+20E3) counts the UTF-8 bytes of
#   the whole cluster: 👍 counts 4, 👍🏽 counts 8, 👨‍👩‍👧 counts 18, 🇫🇷 counts 8.
#   Every other cluster counts 1. Counting whole clusters, joiners and variation
#   selectors included, is the conservative reading: it is never less than counting
#   the emoji code points alone. Symbols such as © that are Extended_Pictographic also
#   count their bytes (2), again the safe side.
#
# Conservative choices
#   - "MB" and "GB" are taken as decimal (8,000,000 and 1,000,000,000 bytes): Meta does
#     not say which.
#   - GIFs: Threads shows GIFs only through its GIPHY integration (`gif_attachment`),
#     not as uploaded files, so image/gif is not accepted.

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import regex

from cmctl.networks.base import Answers, MediaKind, Network, Quota

_CLUSTER = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")


def threads_length(text: str) -> int:
    """Length of ``text`` as Threads counts it: emoji clusters count their UTF-8 bytes."""
    total = 0
    for cluster in _CLUSTER.findall(text):
        total += len(cluster.encode("utf-8")) if _EMOJI.search(cluster) else 1
    return total


class Threads(Network):
    name: ClassVar[str] = "threads"
    title: ClassVar[str] = "Threads"
    docs_url: ClassVar[str] = "https://developers.facebook.com/docs/threads/posts"
    api_base: ClassVar[str | None] = "https://graph.threads.net"
    media_by_url: ClassVar[bool] = True  # the Threads API fetches image_url / video_url

    # Graph API errors {"error": {"message", "type", "code", "error_subcode"}}: 190 (and
    # 102) an expired or revoked token; 1, 2 passing outages; 4, 17, 32, 341, 613 and the
    # business use case codes 80001-80014 rate limits. Usage headers (JSON percentages
    # call_count / total_cputime / total_time, estimated_time_to_regain_access in
    # minutes): developers.facebook.com/docs/graph-api/overview/rate-limiting
    answers: ClassVar[Answers | None] = Answers(
        message=("error.message",),
        code=("error.code",),
        expired=frozenset({"102", "190"}),
        later=frozenset(
            {"1", "2", "4", "9", "17", "32", "341", "613"} | {str(c) for c in range(80001, 80015)}
        ),
        usage=("x-app-usage", "x-business-use-case-usage", "x-page-usage"),
    )

    # Threads posts reference, "Publishing limits" (threads_publishing_limit): 250
    # API-published posts and 1,000 replies per rolling 24 h; thread parts are replies.
    quotas: ClassVar[tuple[Quota, ...]] = (
        Quota(250, timedelta(days=1), counts="roots"),
        Quota(1000, timedelta(days=1), counts="replies"),
    )

    max_length: ClassVar[int | None] = 500
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png"}),
            max_bytes=8_000_000,
            max_count=20,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=1_000_000_000,
            max_count=20,
        ),
    )
    max_media: ClassVar[int] = 20
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = True

    @classmethod
    def count(cls, text: str) -> int:
        return threads_length(text)
