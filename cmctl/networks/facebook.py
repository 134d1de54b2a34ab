# Facebook Pages: posts on a Facebook Page (not a personal profile: the Graph API
# cannot post to those) through the Graph API: POST /{page-id}/feed for text and
# links, POST /{page-id}/photos for photos (several unpublished photos can be joined
# into one post with `attached_media`), POST /{page-id}/videos for a video.
#
# Credentials (the adapter comes later; today a Facebook account takes only
# `network: facebook`)
#   https://developers.facebook.com/apps → Create app (use case "Manage everything on
#   your Page"). Ask for the permissions `pages_manage_posts`, `pages_read_engagement`
#   and `pages_show_list` (App Review is needed before people other than the app's own
#   roles can grant them). Log in with Facebook Login as a person who can perform the
#   CREATE_CONTENT task on the Page, then GET /me/accounts with that user token: each
#   Page comes with its Page access token. A Page token obtained from a long-lived
#   user token does not expire. Graph API Explorer
#   (https://developers.facebook.com/tools/explorer) can do all of this by hand.
#
# Sources for every limit below
#   - 63,206 characters in a Page post's message: the longest status update Facebook
#     accepts (the figure fixed by cmctl's spec; Meta's reference for the `message`
#     field, https://developers.facebook.com/docs/graph-api/reference/page/feed/,
#     does not state a number).
#   - Photos: file types .jpeg, .bmp, .png, .gif, .tiff; "Files can not exceed 4MB.
#     For .png files, we recommend not exceeding 1MB": Meta's photo specification as
#     given in https://developers.facebook.com/docs/page-stories-api ("Photo
#     specifications") and for POST /{page-id}/photos
#     (https://developers.facebook.com/docs/graph-api/reference/page/photos/).
#   - Video: POST /{page-id}/videos with a handle from the Resumable Upload API, whose
#     `file_type` takes video/mp4 (and image/jpeg, image/png, application/pdf):
#     https://developers.facebook.com/docs/video-api/guides/publishing
#   - No mixing: `attached_media` on /{page-id}/feed takes photo ids only; a video is
#     its own post through /{page-id}/videos.
#
# Conservative choices
#   - Counting: Facebook does not document its unit; cmctl counts UTF-16 code units
#     (an emoji counts 2), never less than the code points Facebook may count.
#   - 10 photos per post: the Graph API gives no maximum for `attached_media`; 10 is
#     the largest number publishers report working reliably.
#   - Video: MP4 only (the one video type the Resumable Upload API names) and 1 GB
#     (MiB): the publishing guide states no byte limit; 1 GB was the limit of the
#     older non-resumable upload and is safe whichever upload the adapter uses.
#   - Photos 4 MB: newer Meta pages say 10 MB for Stories photos; 4 MB holds for both.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import MB, Answers, MediaKind, Network


class Facebook(Network):
    name: ClassVar[str] = "facebook"
    title: ClassVar[str] = "Facebook Page"
    docs_url: ClassVar[str] = "https://developers.facebook.com/docs/pages-api/posts"
    api_base: ClassVar[str | None] = "https://graph.facebook.com"
    abbreviation: ClassVar[str | None] = "fb"

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

    max_length: ClassVar[int | None] = 63_206
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"}),
            max_bytes=4 * MB,
            max_count=10,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4"}),
            max_bytes=1024 * MB,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 10
    mixed_media: ClassVar[bool] = False

    threads: ClassVar[bool] = False

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: Facebook does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)
