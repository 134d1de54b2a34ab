# Telegram: posts to a channel (or group) by a bot through the Telegram Bot API
# (https://api.telegram.org/bot<token>/METHOD): sendMessage for text, sendPhoto /
# sendVideo / sendAnimation for one attachment with a caption, sendMediaGroup for an
# album of 2–10 photos and videos.
#
# Credentials
#   Talk to @BotFather in Telegram: /newbot, choose a name and a username ending in
#   "bot", and copy the token it gives (123456789:AA...). Add the bot to your channel
#   as an administrator with the right "Post messages" (Channel → Administrators → Add
#   administrator). The chat is named by its public @username, or by its numeric id
#   (-100...) for a private channel. Revoke or regenerate the token with /revoke. In
#   cmctl.yaml:
#       network: telegram
#       token: ${TELEGRAM_BOT_TOKEN}
#       chat: "@brand_news"                     # or "-1001234567890"
#   The token does not expire; it changes only when you revoke it.
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
#
# Publishing (https://core.telegram.org/bots/api#making-requests: POST
# {api_url}/bot<token>/METHOD, JSON or multipart/form-data, answers
# {"ok": true, "result": ...} or {"ok": false, "error_code", "description", "parameters"})
#   - Text: sendMessage {chat_id, text} (https://core.telegram.org/bots/api#sendmessage).
#   - One file: sendPhoto / sendVideo / sendAnimation, multipart with the file as
#     `photo` / `video` / `animation` and the text as `caption` (#sendphoto, #sendvideo,
#     #sendanimation).
#   - 2 to 10 files: sendMediaGroup, `media` a JSON array of InputMediaPhoto /
#     InputMediaVideo naming each uploaded part "attach://<name>" (#inputfile), the
#     text as the first item's `caption` (#sendmediagroup). It answers an array of
#     Messages; the first one is the part's reference.
#   - No `parse_mode`: the text is sent as plain text, so `*`, `_` and `[` are
#     published as written (#formatting-options).
#   - Thread parts: `reply_parameters` {message_id} of the previous part (#replyparameters).
#   - Telegram has no alt text field: the media's `alt` is not sent.
#   - Public URL: https://t.me/<username>/<message_id> for a chat with a public
#     username; https://t.me/c/<id without -100>/<message_id> for a private channel or
#     supergroup (the link "Copy Post Link" gives); none for other chats.
#   - The token is part of every URL path: it is redacted from every message, and the
#     account's `token` must look like one (digits, ':', letters) before any call.
#
# Errors (#making-requests, #responseparameters): 401 "Unauthorized" (a revoked or wrong
#   token), 400 "Bad Request: chat not found", 403 "Forbidden: bot is not a member of
#   the channel chat", 429 "Too Many Requests: retry after N" with
#   parameters.retry_after (honoured, see `answers`), 400 with
#   parameters.migrate_to_chat_id (a group became a supergroup: its id changed).
#
# Idempotency: none (Idempotency.NONE). The Bot API takes no idempotency key and a bot
#   cannot read a channel's history (there is no getHistory; a bot's own posts do not
#   come back in getUpdates), so after an ambiguous answer (a timeout, or a 5xx after
#   the request was sent) cmctl cannot tell whether the message exists: the job is
#   `unknown` at once, and the message says to look at the channel and settle it with
#   `cmctl resolve`.
#
# Checking an account (`check`): getMe names the bot, getChat names the chat.

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from cmctl.networks.base import (
    AccountField,
    Ambiguous,
    Answers,
    Idempotency,
    MediaKind,
    Network,
    Outgoing,
    Permanent,
    Quota,
    SendError,
    Sent,
)

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment

# An httpx.Response. Declaration files name no httpx, even for type checking, so that
# `cmctl validate` never loads it (see base.py); the HTTP helper hands these over.
Response: TypeAlias = Any

# A bot token as @BotFather gives it: the bot's numeric id, a colon, then the secret.
_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
# A chat: a public @username (5-32 characters) or a numeric id (-100... for channels).
_CHAT = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?[0-9]{1,20})$")

# What each kind of attachment is sent as: (method, file field, InputMedia type).
_SEND_AS: dict[str, tuple[str, str, str | None]] = {
    "image": ("sendPhoto", "photo", "photo"),
    "video": ("sendVideo", "video", "video"),
    "gif": ("sendAnimation", "animation", None),
}

UNKNOWN_HINT = (
    "Telegram bots cannot read a channel's history, so cmctl cannot tell whether it "
    "went out: look at the channel, then `cmctl resolve` the job (--published URL or "
    "--not-published)"
)


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

    threads: ClassVar[bool] = True  # each part replies to the previous one

    publishes: ClassVar[bool] = True
    # No idempotency key, no way to read the chat back (see the header): unknown at once.
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "token",
            required=True,
            secret=True,
            help="the bot's token from @BotFather (123456789:AA...)",
        ),
        AccountField(
            "chat",
            required=True,
            help="the channel or group: its public @username, or its numeric id "
            "(-100... for a private channel); the bot must be an administrator",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units, the unit of Telegram's limits and entity offsets."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

    # ------------------------------------------------------------------ publishing
    def _method(self, name: str) -> str:
        """The URL of one Bot API method; the token in it is redacted from every message."""
        token = str(self.options.get("token") or "").strip()
        if not token:
            raise Permanent("the account has no `token` (the bot's token from @BotFather)")
        self.http.add_secret(token)
        if not _TOKEN.match(token):
            raise Permanent(
                "the account's `token` does not look like a bot token (digits, a colon, "
                "then letters; its value is not shown): copy it again from @BotFather "
                "(/mybots → your bot → API Token)"
            )
        return f"{self.api_url}/bot{token}/{name}"

    @property
    def chat(self) -> str:
        chat = str(self.options.get("chat") or "").strip()
        if not _CHAT.match(chat):
            raise Permanent(
                "the account's `chat` must be the channel's @username or its numeric id "
                f"(e.g. @brand_news or -1001234567890), not {chat!r}"
            )
        return chat

    def _call(self, method: str, *, creates: bool = False, **kwargs: Any) -> Any:
        """POST one method; the ``result`` of its answer."""
        response = self.http.request(
            "POST", self._method(method), creates=creates, classify=self._classify, **kwargs
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "result" not in body:
            error = Ambiguous if creates else Permanent
            raise error(f"{method}: Telegram answered {response.status_code} without a result")
        return body["result"]

    def publish(self, out: Outgoing) -> Sent:
        chat = self.chat
        fields: dict[str, Any] = {"chat_id": chat}
        if out.reply_to is not None:
            fields["reply_parameters"] = {"message_id": int(out.reply_to.remote_id)}
        try:
            if out.media:
                result = self._send_media(out, fields)
            else:
                result = self._call("sendMessage", creates=True, json={**fields, "text": out.text})
        except Ambiguous as exc:
            raise Ambiguous(f"{exc.message}; {UNKNOWN_HINT}") from None
        messages = result if isinstance(result, list) else [result]
        first = messages[0] if messages and isinstance(messages[0], dict) else {}
        message_id = first.get("message_id")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise Ambiguous(f"Telegram answered without a message id; {UNKNOWN_HINT}")
        ids = [m.get("message_id") for m in messages if isinstance(m, dict)]
        return Sent(
            remote_id=str(message_id),
            url=message_url(first.get("chat"), chat, message_id),
            ref={"message_id": message_id, "message_ids": ids},
        )

    def _send_media(self, out: Outgoing, fields: dict[str, Any]) -> Any:
        """sendPhoto / sendVideo / sendAnimation for one file, sendMediaGroup for more."""
        from cmctl.media import MediaProblem, open_checked

        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        limit = max(kind.max_bytes for kind in self.media_kinds)
        try:
            with contextlib.ExitStack() as stack:
                files: dict[str, tuple[str, Any, str]] = {}
                kinds: list[str] = []
                for index, item in enumerate(out.media):
                    f, found = stack.enter_context(open_checked(item.path, item.root, limit))
                    kinds.append(self._kind(item, found.mime_type))
                    mime = found.mime_type or "application/octet-stream"
                    files[f"file{index}"] = (item.path.name, f, mime)
                if len(files) == 1:
                    method, field, _ = _SEND_AS[kinds[0]]
                    if out.text:
                        form["caption"] = out.text
                    return self._call(
                        method, creates=True, data=form, files={field: files["file0"]}
                    )
                group = []
                for index, kind in enumerate(kinds):
                    media_type = _SEND_AS[kind][2]
                    if media_type is None:
                        raise Permanent(f"a {kind} cannot be part of a Telegram album")
                    entry = {"type": media_type, "media": f"attach://file{index}"}
                    if index == 0 and out.text:
                        entry["caption"] = out.text
                    group.append(entry)
                form["media"] = json.dumps(group, ensure_ascii=False)
                return self._call("sendMediaGroup", creates=True, data=form, files=files)
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None

    def _kind(self, item: Attachment, mime_type: str | None) -> str:
        kind = self.media_kind(mime_type)
        if kind is None:
            found = mime_type or "this file type"
            raise Permanent(f"{item.path.name}: {found} is not accepted by Telegram")
        return kind.kind

    def check(self) -> str:
        me = self._call("getMe")
        chat = self.chat
        found = self._call("getChat", json={"chat_id": chat})
        bot = f"@{me['username']}" if isinstance(me, dict) and me.get("username") else "?"
        if not isinstance(found, dict):
            found = {}
        title = found.get("title") or found.get("username") or chat
        where = f'{found.get("type") or "chat"} "{title}"'
        if found.get("username"):
            where += f" (@{found['username']})"
        return f"bot {bot} posting to {where}"

    def _classify(self, response: Response) -> SendError | None:
        """Telegram's refusals, each with what to do about it."""
        status = response.status_code
        if status == 429 or status >= 500:
            return None  # the Answers (parameters.retry_after) and the status say it
        method = response.request.url.path.rsplit("/", 1)[-1]
        said = ""
        parameters: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            body = response.json()
            if isinstance(body, dict):
                said = str(body.get("description") or "")
                if isinstance(body.get("parameters"), dict):
                    parameters = body["parameters"]
        said = self.http.redact(said)[:300] if said else self.http.error_message(response)
        where = f"{method}: {status} {said}"
        lowered = said.lower()
        if status == 401:
            return Permanent(
                f"{where}: the bot token is wrong or was revoked; put the bot's current "
                "token (from @BotFather: /mybots → your bot → API Token) in the account's "
                "`token`"
            )
        if "migrate_to_chat_id" in parameters:
            return Permanent(
                f"{where}: the group became a supergroup; set the account's `chat` to "
                f"{parameters['migrate_to_chat_id']}"
            )
        if "chat not found" in lowered:
            return Permanent(
                f"{where}: check the account's `chat` (@username or numeric id) and that "
                "the bot was added to that channel or group"
            )
        if status == 403 or "not enough rights" in lowered:
            return Permanent(
                f"{where}: make the bot an administrator of the chat with the right to "
                "post messages (channel → Administrators → Add administrator)"
            )
        return None

    def reference(self, url: str) -> Sent | None:
        """A t.me link to a message of this chat (t.me/<username>/<id> or
        t.me/c/<id>/<message>), so that later parts can reply to a part settled by hand.
        Read-only and offline: the Bot API cannot read a message, so only the link's
        shape and chat are checked."""
        match = re.match(
            r"^https?://(?:www\.)?(?:t|telegram)\.me/(c/)?([A-Za-z0-9_]+)/([0-9]+)/?$",
            url.strip(),
        )
        chat = self.chat
        example = message_url(None, chat, 123) or "https://t.me/<channel>/123"
        if match is None:
            raise Permanent(f"{url!r} is not a link to a Telegram message (e.g. {example})")
        private, name, message_id = match.groups()
        mine = chat[4:] if chat.startswith("-100") else None
        same = (private and name == mine) or (
            not private and chat.startswith("@") and name.lower() == chat[1:].lower()
        )
        if not same:
            raise Permanent(f"{url} is not a message of the account's chat {chat}")
        return Sent(
            remote_id=message_id,
            url=url.strip(),
            ref={"message_id": int(message_id), "message_ids": [int(message_id)]},
        )


def message_url(chat: Any, configured: str, message_id: int) -> str | None:
    """The public link of a message: t.me/<username>/<id> for a chat with a public
    username, t.me/c/<id without -100>/<id> for a private channel or supergroup."""
    username = chat.get("username") if isinstance(chat, dict) else None
    if not username and configured.startswith("@"):
        username = configured[1:]
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(chat.get("id") if isinstance(chat, dict) and chat.get("id") else configured)
    if chat_id.startswith("-100") and chat_id[4:].isdigit():
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None
