# Telegram: posts to a channel (or group) by a bot through the Telegram Bot API
# (https://api.telegram.org/bot<token>/METHOD): sendMessage for text, sendPhoto /
# sendVideo / sendAnimation for one attachment with a caption, sendMediaGroup for an
# album of 2–10 photos and videos.
#
# Credentials (the adapter comes later; today a Telegram account takes only
# `network: telegram`)
#   Talk to @BotFather in Telegram: /newbot, choose a name and a username ending in
#   "bot", and copy the token it gives (123456789:AA...). Add the bot to your channel
#   as an administrator with the right "Post messages" (Channel → Administrators → Add
#   administrator). The chat is named by its public @username, or by its numeric id
#   (-100...) for a private channel. Revoke or regenerate the token with /revoke.
#
# Sources for every limit below (https://core.telegram.org/bots/api)
#   - sendMessage `text`: "Text of the message to be sent, 1-4096 characters after
#     entities parsing". Telegram measures text in UTF-16 code units (entity offsets
#     and lengths are UTF-16: https://core.telegram.org/api/entities#entity-length),
#     so cmctl counts with cmctl.text.units.utf16_length (an emoji counts 2).
#   - `caption` of sendPhoto, sendVideo, sendAnimation and of the first item of
#     sendMediaGroup: "0-1024 characters after entities parsing".
#   - sendMediaGroup `media`: "must include 2-10 items"; an album may mix photos and
#     videos ("Documents and audio files can be only grouped in an album with messages
#     of the same type").
#   - sendPhoto: "The photo must be at most 10 MB in size. The photo's width and height
#     must not exceed 10000 in total."
#   - sendVideo: "Telegram clients support MPEG4 videos"; "Bots can currently send
#     video files of up to 50 MB in size".
#   - sendAnimation: "GIF or H.264/MPEG-4 AVC video without sound", "up to 50 MB";
#     an animation is not a valid album item (InputMedia for albums is
#     InputMediaPhoto, InputMediaVideo, InputMediaDocument, InputMediaAudio), so a GIF
#     must be the only attachment.
#
# Conservative choices
#   - Photo types: the Bot API names none for sendPhoto; cmctl accepts JPEG and PNG,
#     the formats every Telegram client shows as a photo, and leaves WebP and others out.
#   - "MB" is taken as decimal (10,000,000 and 50,000,000 bytes): Telegram does not say.
#   - Telegram Premium lets people (not bots) write longer captions; bots keep 1024.

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from cmctl.networks.base import Answers, MediaKind, Network, Quota


class Telegram(Network):
    name: ClassVar[str] = "telegram"
    title: ClassVar[str] = "Telegram"
    docs_url: ClassVar[str] = "https://core.telegram.org/bots/api#sendmessage"
    api_base: ClassVar[str | None] = "https://api.telegram.org"
    abbreviation: ClassVar[str | None] = "tg"

    # Bot API answers {"ok": false, "error_code": N, "description": "...", "parameters":
    # {"retry_after": seconds}} (core.telegram.org/bots/api#making-requests and
    # #responseparameters); a revoked token is 401 Unauthorized.
    answers: ClassVar[Answers | None] = Answers(
        ok="ok",
        message=("description",),
        code=("error_code",),
        retry_after=("parameters.retry_after",),
        expired=frozenset({"401"}),
        expired_statuses=frozenset({401}),
        later=frozenset({"429"}),
    )

    # Bots FAQ (core.telegram.org/bots/faq): at most 20 messages per minute to the same
    # group; channels reportedly too (unconfirmed). A media group may count per item.
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(20, timedelta(minutes=1)),)

    max_length: ClassVar[int | None] = 4096
    length_unit: ClassVar[str] = "characters"
    caption_max_length: ClassVar[int | None] = 1024

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png"}),
            max_bytes=10_000_000,
            max_count=10,
        ),
        MediaKind("gif", frozenset({"image/gif"}), max_bytes=50_000_000, max_count=1, alone=True),
        MediaKind("video", frozenset({"video/mp4"}), max_bytes=50_000_000, max_count=10),
    )
    max_media: ClassVar[int] = 10
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = False

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units, the unit of Telegram's limits and entity offsets."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)
