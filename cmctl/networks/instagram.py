# Instagram: feed posts (a single image, a reel, or a carousel of up to 10 items) on an
# Instagram professional (Business or Creator) account, through the Instagram
# Platform's Content Publishing API: POST /{ig-user-id}/media creates a container
# (one per carousel item, then one CAROUSEL container), POST
# /{ig-user-id}/media_publish publishes it. Instagram fetches every image and video
# from a public URL with cURL, so media must be reachable on a public server at
# publishing time. A caption is the only text; there is no text-only post.
#
# Credentials (the adapter comes later; today an Instagram account takes only
# `network: instagram`)
#   Switch the account to a professional account (Instagram app → Settings → Account
#   type and tools). https://developers.facebook.com/apps → Create app → add the
#   "Instagram" product → "API setup with Instagram login": add the account as an
#   Instagram tester (accept the invitation in Instagram → Settings → Apps and
#   websites), then "Generate token" with the scopes `instagram_business_basic` and
#   `instagram_business_content_publish`. Exchange it for a long-lived token (60 days,
#   refreshable with GET /refresh_access_token). With Facebook Login instead, the
#   account must be linked to a Facebook Page and the scopes are `instagram_basic`,
#   `instagram_content_publish`, `pages_read_engagement`.
#
# Sources for every limit below
#   - Caption: "Maximum 2200 characters, 30 hashtags, and 20 @ tags":
#     https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
#     (parameter `caption`).
#   - Media required: the Content Publishing guide publishes images, videos, reels and
#     carousels only: https://developers.facebook.com/docs/instagram-platform/content-publishing/
#   - Carousel: "Carousels are limited to 10 images, videos, or a mix of the two"
#     (same guide, Limitations), so images and videos may share a post.
#   - Images: "Format: JPEG", "File size: 8 MB maximum" (IG User Media reference,
#     "Image specifications"; "Only JPEG images are supported" in the guide).
#   - Video (reels, and videos inside carousels): "Container: MOV or MP4 (MPEG-4 Part
#     14)", "File size: 300MB maximum" (IG User Media reference, "Reel
#     specifications").
#
# Conservative choices
#   - Counting: Meta does not document the unit of the 2200; cmctl counts UTF-16 code
#     units (an emoji counts 2), never less than the code points Meta may count.
#   - Video 300 MB: some Meta pages now give 1 GB for reels; 300 MB holds for both.
#   - "MB" is taken as decimal megabytes (8,000,000 bytes): Meta does not say which.

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from cmctl.networks.base import Answers, MediaKind, Network, Quota


class Instagram(Network):
    name: ClassVar[str] = "instagram"
    title: ClassVar[str] = "Instagram"
    docs_url: ClassVar[str] = (
        "https://developers.facebook.com/docs/instagram-platform/content-publishing/"
    )
    api_base: ClassVar[str | None] = "https://graph.instagram.com"
    media_by_url: ClassVar[bool] = True  # the Graph API fetches image_url / video_url
    abbreviation: ClassVar[str | None] = "insta"

    # Graph API errors {"error": {"message", "type", "code", "error_subcode"}}: 190 (and
    # 102) an expired or revoked token; 1, 2 passing outages; 4, 9 (the publishing
    # limit), 17, 32, 341, 613 and the business use case codes 80001-80014 rate limits.
    # Usage headers (JSON percentages
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

    # IG User Media Publish reference: 50 API-published posts per rolling 24 h per
    # account, enforced at media_publish; a carousel counts as one. (Older docs said 25;
    # content_publishing_limit tells the account's own figure.)
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(50, timedelta(days=1)),)

    max_length: ClassVar[int | None] = 2200
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind("image", frozenset({"image/jpeg"}), max_bytes=8_000_000, max_count=10),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime"}),
            max_bytes=300_000_000,
            max_count=10,
        ),
    )
    max_media: ClassVar[int] = 10
    mixed_media: ClassVar[bool] = True
    media_required: ClassVar[bool] = True

    threads: ClassVar[bool] = False

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: Meta does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)
