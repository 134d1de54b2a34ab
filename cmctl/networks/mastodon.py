# Mastodon: the federated micro-blogging server (https://joinmastodon.org). A post
# ("status") goes to one account on one instance through the instance's REST API
# (POST /api/v1/statuses, media first through POST /api/v2/media).
#
# Credentials
#   On your instance: Preferences → Development → New application. Give it a name,
#   tick the scopes `write:statuses` and `write:media` (add `read:accounts` so cmctl
#   can check whom the token belongs to), save, open the application and copy
#   "Your access token". In cmctl.yaml:
#       network: mastodon
#       instance: https://mastodon.social       # base URL of your instance
#       token: ${MASTODON_TOKEN}
#       max_characters: 1000                    # only if your instance allows more than 500
#   The token never expires unless you revoke it (same page, or Preferences →
#   Account → Authorized apps).
#
# Sources for every limit below
#   - Length 500 by default: StatusLengthValidator::MAX_CHARS
#     https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb
#     An instance may allow more; it says so in GET /api/v2/instance as
#     configuration.statuses.max_characters
#     (https://docs.joinmastodon.org/entities/Instance/#max_characters), which is
#     what the optional `max_characters` account field mirrors.
#   - How it is counted (every URL counts 23, the domain of @user@domain is not
#     counted): https://docs.joinmastodon.org/user/posting/ ("Text") and
#     configuration.statuses.characters_reserved_per_url in the Instance entity;
#     implemented by cmctl.text.mastodon.mastodon_length.
#   - 4 attachments, no video beside anything else: PostStatusService#validate_media!
#     (`media_ids.size > 4`, and `images_and_video` when an audio/video item is not
#     alone) https://github.com/mastodon/mastodon/blob/main/app/services/post_status_service.rb
#     and Status::MEDIA_ATTACHMENTS_LIMIT = 4.
#   - Types and sizes: MediaAttachment IMAGE_LIMIT = 16.megabytes, VIDEO_LIMIT =
#     99.megabytes (Rails megabytes, i.e. MiB), IMAGE_MIME_TYPES and VIDEO_MIME_TYPES
#     https://github.com/mastodon/mastodon/blob/main/app/models/media_attachment.rb
#     (app/models/concerns/media_attachment/mime_types.rb in recent versions);
#     an instance reports its own values as configuration.media_attachments.*.
#
# Conservative choices
#   - GIFs are declared with the images (16 MB). Mastodon turns an animated GIF into
#     a looping video ("gifv") that may then be as large as a video, but a still GIF
#     stays an image; 16 MB is safe for both, and either may sit beside images.
#   - Audio attachments exist in Mastodon but cmctl has no audio kind yet.
#   - Sizes are the defaults of a stock instance (MAX_IMAGE_SIZE / MAX_VIDEO_SIZE can
#     change them per instance).

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import MB, AccountField, MediaKind, Network


class Mastodon(Network):
    name: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon"
    docs_url: ClassVar[str] = "https://docs.joinmastodon.org/user/posting/"

    max_length: ClassVar[int | None] = 500
    length_unit: ClassVar[str] = "characters"
    length_field: ClassVar[str | None] = "max_characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset(
                {
                    "image/jpeg",
                    "image/png",
                    "image/gif",
                    "image/webp",
                    "image/avif",
                    "image/heic",
                    "image/heif",
                }
            ),
            max_bytes=16 * MB,
            max_count=4,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime", "video/webm", "video/ogg"}),
            max_bytes=99 * MB,
            max_count=1,
        ),
    )
    max_media: ClassVar[int] = 4
    mixed_media: ClassVar[bool] = False

    threads: ClassVar[bool] = True  # in_reply_to_id on POST /api/v1/statuses

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "instance",
            required=True,
            help="base URL of your Mastodon instance, e.g. https://mastodon.social",
        ),
        AccountField(
            "token",
            required=True,
            secret=True,
            help="access token of an application with write:statuses and write:media "
            "(Preferences → Development)",
        ),
        AccountField(
            "max_characters",
            type="integer",
            help="your instance's post length when it allows more than 500 "
            "(configuration.statuses.max_characters in /api/v2/instance)",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """Mastodon's count: graphemes, every URL as 23, remote mention domains free."""
        from cmctl.text.mastodon import mastodon_length

        return mastodon_length(text)
