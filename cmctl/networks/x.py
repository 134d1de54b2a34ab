# X (formerly Twitter). A post is created with POST /2/tweets of the X API v2; media
# are uploaded first (POST /2/media/upload/initialize, /append, /finalize) and
# attached by media_id; a thread is a chain of posts, each with
# reply.in_reply_to_tweet_id set to the one before.
#
# Credentials (the adapter comes later; today an X account takes only `network: x`)
#   https://developer.x.com → Developer Portal → Projects & Apps → your app → User
#   authentication settings: app permissions "Read and write", type "Web App,
#   Automated App or Bot", a callback URL. Then authorise your own account with
#   OAuth 2.0 (PKCE) and the scopes `tweet.read tweet.write users.read media.write
#   offline.access` (offline.access gives a refresh token), or use the OAuth 1.0a
#   "Access Token and Secret" generated on the app's "Keys and tokens" tab.
#   Posting needs an API plan that allows POST /2/tweets.
#
# Sources for every limit below
#   - 280, weighted (twitter-text configuration v3: Latin, punctuation and common
#     symbols count 1, other code points such as CJK count 2, every URL counts 23,
#     every emoji counts 2): https://docs.x.com/fundamentals/counting-characters
#     and https://github.com/twitter/twitter-text/blob/master/config/v3.json
#     (vendored in ../shared/conformance/twitter-text/config-v3.json); implemented by
#     cmctl.text.twitter.weighted_length. Longer posts exist for X Premium accounts;
#     cmctl keeps 280 until the account config can say otherwise.
#   - "You may attach up to 4 photos, 1 animated GIF or 1 video in a Post",
#     image types JPG, PNG, GIF, WEBP, "Image size: <= 5 MB",
#     "Animated GIF size: <= 15 MB", video "File size: must not exceed 512 mb":
#     https://docs.x.com/x-api/media/quickstart/best-practices
#     (xdevplatform/docs x-api/media/quickstart/best-practices.mdx, 2026-08-22)
#   - "Image: 5 MB, GIF: 15 MB, Video: 512 MB": https://docs.x.com/x-api/media
#   - Video containers: the media_type enum of POST /2/media/upload/initialize lists
#     video/mp4, video/quicktime, video/webm and video/mp2t (openapi.json of
#     xdevplatform/docs); X's help pages name MP4 and MOV for posts.
#
# Conservative choices
#   - Video 512 MB: a draft of the same docs page gives 8 GB (16 GB for Premium) for
#     Post video; the published page and the media introduction still say 512 MB.
#   - Video types: MP4 and MOV only (what X recommends for posts); WebM and MPEG-TS are
#     accepted by the upload endpoint but not promised for posts.
#   - "MB" is taken as MiB (5 × 1024 × 1024 bytes), as in the v1.1 media docs.

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from cmctl.networks.base import MB, MediaKind, Network, Quota


class X(Network):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X"
    docs_url: ClassVar[str] = "https://docs.x.com/x-api/media/quickstart/best-practices"
    api_base: ClassVar[str | None] = "https://api.x.com"

    # The free plan: 17 posts per 24 h per user (10up/autoshare-for-twitter#351,
    # giacomov/arxiv-sanity-bot#35; see shared reference networks.md §1.1). Paid plans
    # allow more (Basic: 100 per 24 h), so this is a warning for the cheapest account.
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(17, timedelta(days=1), note="free plan"),)

    max_length: ClassVar[int | None] = 280
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/webp"}),
            max_bytes=5 * MB,
            max_count=4,
        ),
        MediaKind("gif", frozenset({"image/gif"}), max_bytes=15 * MB, max_count=1),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=512 * MB,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 4
    mixed_media: ClassVar[bool] = False
    # media/metadata/create: alt_text.text is at most 1000 characters
    # (https://developer.x.com/en/docs/media/upload-media/api-reference/post-media-metadata-create)
    alt_max_length: ClassVar[int | None] = 1000

    threads: ClassVar[bool] = True

    @classmethod
    def count(cls, text: str) -> int:
        """X's weighted length (twitter-text config v3)."""
        from cmctl.text.twitter import weighted_length

        return weighted_length(text)
