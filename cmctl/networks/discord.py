# Discord: a message in a server channel, sent through a channel webhook
# (POST https://discord.com/api/webhooks/{webhook.id}/{webhook.token}, "Execute
# Webhook") or by a bot (POST /channels/{channel.id}/messages). Files go in the same
# request as multipart/form-data `files[n]` parts.
#
# Credentials
#   In the server, Channel settings (gear) → Integrations → Webhooks → New Webhook, pick
#   the channel, "Copy Webhook URL". You need the Manage Webhooks permission. The URL
#   holds the webhook's token: treat it as a secret (anyone holding it can post). It
#   never expires; deleting the webhook (or "Reset" of its URL) revokes it. In
#   cmctl.yaml:
#       network: discord
#       webhook_url: ${DISCORD_WEBHOOK_URL}
#   (cmctl posts through webhooks only; a bot token is not used.)
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
#
# Publishing (Execute Webhook,
# https://discord.com/developers/docs/resources/webhook#execute-webhook)
#   - POST {webhook}?wait=true: with wait, Discord answers the created message (without
#     it, a message that is not saved gives no error). A text post is JSON {content};
#     with media, multipart/form-data: `payload_json` {content, attachments: [{id,
#     filename, description}]} and one `files[n]` part per file; `description` is the
#     alt text (https://discord.com/developers/docs/reference#uploading-files).
#   - The URL used is the webhook URL's own origin with the API version fixed to v10
#     (/api/v10/webhooks/<id>/<token>) unless the URL names one; an account's
#     `api_url` replaces the origin and /api (`{api_url}/webhooks/<id>/<token>`).
#   - Thread parts are follow-up messages in the same channel, in order: a webhook
#     cannot reply to a message (Execute Webhook has no message_reference).
#   - Public URL: https://discord.com/channels/<guild_id>/<channel_id>/<message_id>;
#     the guild comes from GET {webhook} (the webhook object has guild_id and
#     channel_id), read once per run; without it, no URL is recorded.
#   - Mentions are left to Discord's defaults: an @everyone in a post pings.
#   - The webhook URL is a secret: its token is redacted from every message, and the
#     URL itself never appears in any output (`check` names the webhook, not its URL).
#
# Errors (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json):
#   {"message", "code"}: 10015 Unknown Webhook (404: deleted), 50027 Invalid Webhook
#   Token (401), 50035 Invalid Form Body, 50006 Cannot send an empty message, 40005
#   Request entity too large (413). Rate limits
#   (https://discord.com/developers/docs/topics/rate-limits): 429 {"message": "You are
#   being rate limited.", "retry_after": seconds (a float), "global": bool}; the body's
#   retry_after is used over the Retry-After header, which is rounded up.
#
# Idempotency: none (Idempotency.NONE). Execute Webhook takes no nonce, and a webhook
#   cannot list a channel's messages (GET .../messages/<id> needs the id), so an
#   ambiguous answer is `unknown` at once: look at the channel, then `cmctl resolve`.

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta
from typing import Any, ClassVar, TypeAlias
from urllib.parse import urlsplit

from cmctl.networks.base import (
    MB,
    AccountField,
    Ambiguous,
    Answers,
    Idempotency,
    MediaKind,
    Network,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)

# An httpx.Response. Declaration files name no httpx, even for type checking, so that
# `cmctl validate` never loads it (see base.py); the HTTP helper hands these over.
Response: TypeAlias = Any

# https://discord.com/api[/vN]/webhooks/<id>/<token>
_WEBHOOK = re.compile(r"^(/api(?:/v[0-9]+)?)/webhooks/([0-9]{1,25})/([A-Za-z0-9_.-]{8,200})/?$")
API_VERSION = "v10"

UNKNOWN_HINT = (
    "a Discord webhook cannot read the channel back, so cmctl cannot tell whether it "
    "went out: look at the channel, then `cmctl resolve` the job (--published URL or "
    "--not-published)"
)
REVOKED_HINT = (
    "the webhook was deleted or its URL reset: create one (Channel settings → "
    "Integrations → Webhooks → New Webhook → Copy Webhook URL) and put its URL in the "
    "account's `webhook_url`"
)


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

    threads: ClassVar[bool] = True  # follow-up messages (a webhook cannot reply)

    publishes: ClassVar[bool] = True
    # No nonce on Execute Webhook, no way to list messages (see the header).
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "webhook_url",
            required=True,
            secret=True,
            help="the channel webhook's URL (Channel settings → Integrations → Webhooks → "
            "Copy Webhook URL); a secret: it holds the webhook's token",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (JavaScript string length)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

    # ------------------------------------------------------------------ publishing
    @property
    def webhook(self) -> str:
        """The webhook's address, without a final slash; its token is redacted from now on."""
        raw = str(self.options.get("webhook_url") or "").strip()
        if not raw:
            raise Permanent("the account has no `webhook_url`")
        self.http.add_secret(raw, partial=False)
        try:
            parts = urlsplit(raw)
        except ValueError:
            parts = None
        match = _WEBHOOK.match(parts.path) if parts is not None else None
        if parts is None or match is None or parts.scheme not in ("http", "https"):
            raise Permanent(
                "the account's `webhook_url` is not a Discord webhook URL "
                "(https://discord.com/api/webhooks/<id>/<token>; its value is not shown): "
                "copy it again (Channel settings → Integrations → Webhooks)"
            )
        prefix, webhook_id, token = match.groups()
        self.http.add_secret(token)
        if str(self.options.get("api_url") or "").strip():
            base = self.api_url
        else:
            version = prefix if prefix != "/api" else f"/api/{API_VERSION}"
            base = f"{parts.scheme}://{parts.netloc}{version}"
        return f"{base}/webhooks/{webhook_id}/{token}"

    def publish(self, out: Outgoing) -> Sent:
        url = self.webhook
        try:
            if out.media:
                response = self._send_files(url, out)
            else:
                response = self.http.request(
                    "POST",
                    url,
                    creates=True,
                    classify=self._classify,
                    params={"wait": "true"},
                    json={"content": out.text},
                )
        except Ambiguous as exc:
            raise Ambiguous(f"{exc.message}; {UNKNOWN_HINT}") from None
        message = _json_object(response)
        message_id = message.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise Ambiguous(f"Discord answered without a message id; {UNKNOWN_HINT}")
        channel = str(message.get("channel_id") or "")
        guild = message.get("guild_id") or self._guild()
        link = (
            f"https://discord.com/channels/{guild}/{channel}/{message_id}"
            if guild and channel
            else None
        )
        return Sent(remote_id=message_id, url=link, ref={"id": message_id, "channel_id": channel})

    def _send_files(self, url: str, out: Outgoing) -> Response:
        from cmctl.media import MediaProblem, open_checked

        limit = max(kind.max_bytes for kind in self.media_kinds)
        try:
            with contextlib.ExitStack() as stack:
                files: dict[str, tuple[str, Any, str]] = {}
                attachments = []
                for index, item in enumerate(out.media):
                    f, found = stack.enter_context(open_checked(item.path, item.root, limit))
                    mime = found.mime_type or "application/octet-stream"
                    files[f"files[{index}]"] = (item.path.name, f, mime)
                    described: dict[str, Any] = {"id": index, "filename": item.path.name}
                    if item.alt:
                        described["description"] = item.alt
                    attachments.append(described)
                payload: dict[str, Any] = {"attachments": attachments}
                if out.text:
                    payload["content"] = out.text
                return self.http.request(
                    "POST",
                    url,
                    creates=True,
                    classify=self._classify,
                    params={"wait": "true"},
                    data={"payload_json": json.dumps(payload, ensure_ascii=False)},
                    files=files,
                )
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None

    def _webhook_object(self) -> dict[str, Any]:
        response = self.http.request("GET", self.webhook, classify=self._classify)
        found = _json_object(response, Permanent)
        self._found = found
        return found

    def _guild(self) -> str | None:
        """The webhook's server id (GET {webhook}, once); None when it cannot be read."""
        found = getattr(self, "_found", None)
        if found is None:
            try:
                found = self._webhook_object()
            except SendError:
                return None
        guild = found.get("guild_id")
        return str(guild) if guild else None

    def check(self) -> str:
        found = self._webhook_object()  # never shown whole: it holds the token
        name = found.get("name") or "?"
        where = f"channel {found.get('channel_id') or '?'}"
        if found.get("guild_id"):
            where += f" of server {found['guild_id']}"
        return self.http.redact(f'webhook "{name}" posting to {where}')

    def _classify(self, response: Response) -> SendError | None:
        """Discord's refusals with what to do, and its rate limits read from the body."""
        status = response.status_code
        body: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            parsed = response.json()
            if isinstance(parsed, dict):
                body = parsed
        said = self.http.error_message(response)
        code = body.get("code")
        where = f"{response.request.method} webhook: {status} {said}"
        if code is not None and str(code) not in said:
            where += f" ({code})"
        if status == 429:
            wait = body.get("retry_after")
            seconds: float | None = None
            if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait >= 0:
                seconds = min(float(wait), 24 * 3600.0)
            else:
                from cmctl.networks.http import retry_after

                seconds = retry_after(response)
            scope = " (Discord's global rate limit)" if body.get("global") is True else ""
            return Transient(where + scope, seconds)
        if status in (401, 404) or str(code) in ("10015", "50027"):
            return Permanent(f"{where}: {REVOKED_HINT}")
        if status == 413 or str(code) == "40005":
            return Permanent(
                f"{where}: the files are larger than this server accepts (10 MiB per "
                "message without boosts): make them smaller"
            )
        return None


def _json_object(response: Response, error: type[SendError] = Ambiguous) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error(f"Discord answered {response.status_code} without a JSON object")
    return body
