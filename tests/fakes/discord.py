"""A fake Discord webhook: Execute Webhook and Get Webhook with Token, with Discord's answers.

Sources (read 2026-12):

- https://discord.com/developers/docs/resources/webhook#execute-webhook: ``POST
  /webhooks/{webhook.id}/{webhook.token}``, query ``wait`` ("waits for server
  confirmation of message send before response, and returns the created message body
  (defaults to false; when false a message that is not saved does not return an
  error)"): with wait, 200 and the Message; without, 204. JSON or multipart
  (``payload_json`` + ``files[n]``, https://discord.com/developers/docs/reference#
  uploading-files); ``attachments[]`` partial objects ``{id, filename, description}``.
  ``content`` up to 2000 characters; at least one of content, embeds, components,
  files or poll.
- #get-webhook-with-token: ``GET /webhooks/{webhook.id}/{webhook.token}``, the Webhook
  object (id, type 1, guild_id, channel_id, name, avatar, application_id, token;
  "no user in the webhook object").
- Paths are served under ``/api`` and ``/api/v{N}`` (https://discord.com/developers/
  docs/reference#api-versioning).
- Errors (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json and
  #example-json-error-response): ``{"message", "code"}``; 10015 "Unknown Webhook"
  (404), 50027 "Invalid Webhook Token" (401), 50006 "Cannot send an empty message",
  50035 "Invalid Form Body" with ``errors`` (400), 40005 "Request entity too large"
  (413).
- Rate limits (https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-
  limit): 429 ``{"message": "You are being rate limited.", "retry_after": 64.57,
  "global": false}``, headers ``Retry-After`` (whole seconds, rounded up here),
  ``X-RateLimit-Global`` when global, ``X-RateLimit-Scope`` (``rate_limited``).

``messages`` holds every message posted through the webhook.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar

from cmctl.text.units import utf16_length
from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

__all__ = ["FakeDiscord", "rate_limited"]

WEBHOOK_ID = "1234567890123456789"
TOKEN = "good-webhook-token_0123456789abcdefghijklmnopqrstuvwxyzABCDEF"
GUILD_ID = "111111111111111111"
CHANNEL_ID = "222222222222222222"
MAX_UPLOAD = 10 * 1024 * 1024

_PATH = re.compile(r"^/api(?:/v[0-9]+)?/webhooks/([0-9]+)/([^/]+)$")


def error(status: int, message: str, code: int, **extra: Any) -> Reply:
    return Reply(status, {"message": message, "code": code, **extra})


def rate_limited(
    seconds: float, *, scope_global: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Discord's 429: the body (retry_after a float) and its headers (Retry-After rounded up)."""
    body = {
        "message": "You are being rate limited.",
        "retry_after": seconds,
        "global": scope_global,
    }
    headers = {
        "Retry-After": str(math.ceil(seconds)),
        "X-RateLimit-Scope": "global" if scope_global else "user",
    }
    if scope_global:
        headers["X-RateLimit-Global"] = "true"
    return body, headers


class FakeDiscord(FakeServer):
    """One channel webhook. ``webhook_url`` is its address (the shape users copy)."""

    name: ClassVar[str] = "fake-discord"

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.webhook_id = WEBHOOK_ID
        self.token = TOKEN
        self.deleted = False
        self.messages: list[dict[str, Any]] = []
        self._next_id = 1300000000000000000

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"

    def delete_webhook(self) -> None:
        """The webhook is deleted in Discord: 404 Unknown Webhook from now on."""
        self.deleted = True

    def route(self, request: RecordedRequest) -> Reply:
        match = _PATH.match(request.path)
        if match is None:
            return error(404, "404: Not Found", 0)
        webhook_id, token = match.groups()
        if webhook_id != self.webhook_id or self.deleted:
            return error(404, "Unknown Webhook", 10015)
        if token != self.token:
            return error(401, "Invalid Webhook Token", 50027)
        if request.method == "GET":
            return Reply(200, self._webhook_object())
        if request.method != "POST":
            return error(405, "405: Method Not Allowed", 0)
        return self._execute(request)

    def _webhook_object(self) -> dict[str, Any]:
        return {
            "application_id": None,
            "avatar": None,
            "channel_id": CHANNEL_ID,
            "guild_id": GUILD_ID,
            "id": self.webhook_id,
            "name": "Brand announcements",
            "type": 1,
            "token": self.token,
        }

    def _execute(self, request: RecordedRequest) -> Reply:
        if len(request.body) > MAX_UPLOAD:
            return error(413, "Request entity too large", 40005)
        form = parse_form(request)
        files: dict[int, Any] = {}
        if request.content_type == "multipart/form-data":
            raw = form.get("payload_json")
            try:
                payload = json.loads(raw[0].text) if raw else {}
            except ValueError:
                return error(400, "Invalid Form Body", 50035)
            for name, parts in form.items():
                found = re.fullmatch(r"files\[([0-9]+)\]", name)
                if found:
                    files[int(found.group(1))] = parts[0]
        elif isinstance(request.json, dict):
            payload = request.json
        else:
            return error(400, "Cannot send an empty message", 50006)
        content = str(payload.get("content") or "")
        if utf16_length(content) > 2000:
            return error(
                400,
                "Invalid Form Body",
                50035,
                errors={
                    "content": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": "Must be 2000 or fewer in length.",
                            }
                        ]
                    }
                },
            )
        if not content.strip() and not files:
            return error(400, "Cannot send an empty message", 50006)
        attachments = []
        described = {
            a.get("id"): a for a in payload.get("attachments") or [] if isinstance(a, dict)
        }
        for index, part in sorted(files.items()):
            about = described.get(index) or described.get(str(index)) or {}
            attachments.append(
                {
                    "id": str(self._next_id + 500 + index),
                    "filename": about.get("filename") or part.filename,
                    "description": about.get("description"),
                    "content_type": part.content_type,
                    "size": len(part.data),
                }
            )
        self._next_id += 1
        message = {
            "id": str(self._next_id),
            "type": 0,
            "content": content,
            "channel_id": CHANNEL_ID,
            "author": {"bot": True, "id": self.webhook_id, "username": "Brand announcements"},
            "attachments": attachments,
            "embeds": [],
            "mentions": [],
            "pinned": False,
            "tts": False,
            "timestamp": self.now().isoformat(),
            "webhook_id": self.webhook_id,
        }
        self.messages.append(message)
        if request.param("wait") not in ("true", "1", "True"):
            return Reply(204)
        return Reply(200, message)
