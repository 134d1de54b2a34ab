# Discord: a message in a server channel, sent through a channel webhook
# (POST https://discord.com/api/webhooks/{webhook.id}/{webhook.token}, "Execute
# Webhook") or by a bot (POST /channels/{channel.id}/messages). Files go in the same
# request as multipart/form-data `files[n]` parts.
#
# Credentials (the adapter comes later; today a Discord account takes only
# `network: discord`)
#   Simplest: in the server, Channel settings (gear) → Integrations → Webhooks → New
#   Webhook, pick the channel, "Copy Webhook URL". You need the Manage Webhooks
#   permission. Treat the URL as a secret: anyone holding it can post. A bot instead:
#   https://discord.com/developers/applications → New Application → Bot → Reset Token;
#   invite it with the `bot` scope and the permissions Send Messages and Attach Files.
#
# Sources for every limit below (discord/discord-api-docs, 2026-08-06)
#   - "Message contents (up to 2000 characters)": Execute Webhook and Create Message
#     JSON params, https://discord.com/developers/docs/resources/webhook#execute-webhook
#     and https://discord.com/developers/docs/resources/message#create-message
#   - 10 attachments: JSON error code 30015 "Maximum number of attachments in a message
#     reached (10)", https://discord.com/developers/docs/topics/opcodes-and-status-codes
#   - "The default limit is `10 MiB` for all users" per file (higher only with Nitro or
#     server boosts): https://discord.com/developers/docs/reference#uploading-files
#   - Any file type may be attached and files of different types share a message;
#     cmctl declares the images and videos Discord previews inline.
#
# Conservative choices
#   - Counting: Discord's "characters" are counted by its clients in JavaScript string
#     length, i.e. UTF-16 code units (an emoji counts 2); cmctl counts the same way,
#     which is never less than code points.
#   - 10 MiB per file even where the server's boost tier allows more: cmctl cannot
#     know the tier.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import MB, Answers, MediaKind, Network


class Discord(Network):
    name: ClassVar[str] = "discord"
    title: ClassVar[str] = "Discord"
    docs_url: ClassVar[str] = (
        "https://discord.com/developers/docs/resources/webhook#execute-webhook"
    )
    api_base: ClassVar[str | None] = "https://discord.com/api"
    abbreviation: ClassVar[str | None] = "disc"

    # 429 body {"message": ..., "retry_after": seconds (float), "global": bool}
    # (docs.discord.com/developers/topics/rate-limits); errors {"code": N, "message": ...}
    # (topics/opcodes-and-status-codes: 40001 Unauthorized, 50014 invalid token, 50027
    # invalid webhook token).
    answers: ClassVar[Answers | None] = Answers(
        message=("message",),
        code=("code",),
        retry_after=("retry_after",),
        expired=frozenset({"40001", "50014", "50027"}),
        expired_statuses=frozenset({401}),
    )

    max_length: ClassVar[int | None] = 2000
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"}),
            max_bytes=10 * MB,
            max_count=10,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_bytes=10 * MB,
            max_count=10,
        ),
    )
    max_media: ClassVar[int] = 10
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = False

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (JavaScript string length)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)
