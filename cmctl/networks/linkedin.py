# LinkedIn: posts on a member's profile or an organization (company) page, created
# with the versioned Posts API (POST https://api.linkedin.com/rest/posts, header
# `LinkedIn-Version: YYYYMM`). Images and videos are uploaded first through the
# Images API and Videos API and referenced by URN.
#
# Credentials (the adapter comes later; today a LinkedIn account takes only
# `network: linkedin`)
#   https://www.linkedin.com/developers/apps → Create app (it must be linked to a
#   company page) → Products: add "Share on LinkedIn" (scope `w_member_social`, posts
#   as you) and, for a company page, "Community Management API" (scope
#   `w_organization_social`, you must be an ADMINISTRATOR, CONTENT_ADMIN or
#   DIRECT_SPONSORED_CONTENT_POSTER of the page). Add "Sign In with LinkedIn using
#   OpenID Connect" (`openid profile`) to learn your member URN. Get a token with the
#   3-legged OAuth 2.0 flow (Auth tab → OAuth 2.0 tools can generate one); member
#   tokens last 60 days.
#
# Sources for every limit below
#   - 3000 characters of commentary: the limit LinkedIn's composer and Help Center
#     state for a post. The Posts API reference
#     (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api)
#     documents `commentary` in "little text format"
#     (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format)
#     without giving a number, so 3000 is what cmctl holds it to.
#   - Images: 2 to 20 in a MultiImage post ("minimum of 2 images and maximum of 20
#     images"): https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/multiimage-post-api
#   - Image types JPG, GIF, PNG (and at most 36,152,320 pixels):
#     https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
#   - Video: one per post, MP4, "Video File Size Specifications" for organic posts:
#     75 KB to 500 MB, 3 seconds to 30 minutes:
#     https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api
#   - No mixing: a post's `content` holds either `media` (one image or one video) or
#     `multiImage` (images only), never both (Posts API, "content" union).
#
# Conservative choices
#   - Counting: LinkedIn does not say how it counts; cmctl counts UTF-16 code units
#     (an emoji counts 2), which is never less than code points. Characters escaped
#     for little text format (a backslash before ( ) [ ] { } < > @ | ~ _ *) are
#     counted as written in the calendar, before escaping.
#   - Image size: the Images API gives a pixel limit but no byte limit; 5 MB (MiB) is
#     what LinkedIn's own composer accepts and what publishers document.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import MB, MediaKind, Network


class LinkedIn(Network):
    name: ClassVar[str] = "linkedin"
    title: ClassVar[str] = "LinkedIn"
    docs_url: ClassVar[str] = (
        "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api"
    )
    api_base: ClassVar[str | None] = "https://api.linkedin.com"
    abbreviation: ClassVar[str | None] = "in"

    max_length: ClassVar[int | None] = 3000
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif"}),
            max_bytes=5 * MB,
            max_count=20,
        ),
        MediaKind("video", frozenset({"video/mp4"}), max_bytes=500 * MB, max_count=1),
    )
    max_media: ClassVar[int] = 20
    mixed_media: ClassVar[bool] = False

    threads: ClassVar[bool] = False

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: LinkedIn does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)
