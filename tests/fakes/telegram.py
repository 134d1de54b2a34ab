"""A fake Telegram Bot API: the methods cmctl calls, with Telegram's own answers.

Sources (https://core.telegram.org/bots/api, read 2026-12):

- "Making requests": ``https://api.telegram.org/bot<token>/METHOD_NAME``, GET or POST,
  parameters as a query string, ``application/x-www-form-urlencoded``,
  ``application/json`` or ``multipart/form-data`` (files). "The response contains a
  JSON object, which always has a Boolean field 'ok' and may have an optional String
  field 'description' [...] If 'ok' equals True, the request was successful and the
  result of the query can be found in the 'result' field. In case of an unsuccessful
  request, 'ok' equals false and the error is explained in the 'description'. An
  Integer 'error_code' field is also returned [...] Some errors may also have an
  optional field 'parameters' of the type ResponseParameters".
- ResponseParameters (#responseparameters): ``retry_after`` ("In case of exceeding
  flood control, the number of seconds left to wait before the request can be
  repeated") and ``migrate_to_chat_id``.
- #getme (User), #getchat (ChatFullInfo: id, type, title, username), #sendmessage,
  #sendphoto, #sendvideo, #sendanimation, #sendmediagroup ("2-10 items", answers "an
  array of Messages"), #inputfile ("attach://<file_attach_name>"), #replyparameters.
- Descriptions as the Bot API writes them (the docs give none verbatim; these are the
  strings clients meet and document, e.g. https://grammy.dev/advanced/flood and
  https://github.com/TelegramBotAPI/errors): 401 "Unauthorized", 404 "Not Found" (an
  unknown method), 400 "Bad Request: chat not found", "Bad Request: message text is
  empty", "Bad Request: message is too long", "Bad Request: message caption is too
  long", "Bad Request: message to be replied not found", 403 "Forbidden: bot is not a
  member of the channel chat", 429 "Too Many Requests: retry after N" with
  ``parameters.retry_after`` (``too_many``).

``messages`` holds every message posted (an album's items each count, as on Telegram).
Channel message ids are sequential per chat.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from cmctl.text.units import utf16_length
from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

__all__ = ["FakeTelegram", "too_many"]

TOKEN = "123456789:AAF-good-token-0123456789abcdefghij"
CHAT_ID = -1001234567890
USERNAME = "brand_news"

_PATH = re.compile(r"^/bot([^/]+)/([A-Za-z]+)$")
_FILES = {"sendPhoto": "photo", "sendVideo": "video", "sendAnimation": "animation"}


def error(code: int, description: str, **parameters: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(code, body)


def too_many(seconds: int) -> dict[str, Any]:
    """Telegram's flood-control answer (429 body)."""
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
        "parameters": {"retry_after": seconds},
    }


class FakeTelegram(FakeServer):
    """One bot, admin of one channel (@brand_news). See the module docstring."""

    name: ClassVar[str] = "fake-telegram"

    def __init__(self, token: str = TOKEN, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Brand Bot",
            "username": "brand_bot",
        }
        self.chat = {"id": CHAT_ID, "type": "channel", "title": "Brand News", "username": USERNAME}
        self.messages: list[dict[str, Any]] = []
        self._next_id = 100
        self._groups = 0

    def revoke(self) -> None:
        """/revoke in @BotFather: the old token answers 401 from now on."""
        self.token = self.token.split(":")[0] + ":AAnew-token-after-revoke-0123456789"

    def route(self, request: RecordedRequest) -> Reply:
        match = _PATH.match(request.path)
        if match is None:
            return error(404, "Not Found")
        token, method = match.groups()
        if token != self.token:
            return error(401, "Unauthorized")
        params = self._params(request)
        if method == "getMe":
            return Reply(200, {"ok": True, "result": self.bot})
        handler = {
            "getChat": self._get_chat,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_file,
            "sendVideo": self._send_file,
            "sendAnimation": self._send_file,
            "sendMediaGroup": self._send_media_group,
        }.get(method)
        if handler is None:
            return error(404, "Not Found")
        return handler(method, params)

    # -- methods ---------------------------------------------------------------------

    def _get_chat(self, method: str, params: dict[str, Any]) -> Reply:
        if not self._is_chat(params.get("chat_id")):
            return error(400, "Bad Request: chat not found")
        return Reply(200, {"ok": True, "result": dict(self.chat)})

    def _send_message(self, method: str, params: dict[str, Any]) -> Reply:
        problem = self._common(params)
        if problem is not None:
            return problem
        text = str(params.get("text") or "")
        if not text.strip():
            return error(400, "Bad Request: message text is empty")
        if utf16_length(text) > 4096:
            return error(400, "Bad Request: message is too long")
        return self._ok(self._store(params, text=text))

    def _send_file(self, method: str, params: dict[str, Any]) -> Reply:
        problem = self._common(params)
        if problem is not None:
            return problem
        field = _FILES[method]
        upload = params.get(field)
        if upload is None:
            return error(400, f"Bad Request: there is no {field} in the request")
        caption = params.get("caption")
        if caption is not None and utf16_length(str(caption)) > 1024:
            return error(400, "Bad Request: message caption is too long")
        return self._ok(self._store(params, caption=caption, **{field: _file(upload)}))

    def _send_media_group(self, method: str, params: dict[str, Any]) -> Reply:
        problem = self._common(params)
        if problem is not None:
            return problem
        try:
            media = json.loads(str(params.get("media") or ""))
        except ValueError:
            return error(400, "Bad Request: can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return error(400, "Bad Request: wrong number of media in the group (2-10)")
        self._groups += 1
        stored = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            ref = str(item.get("media", "")) if isinstance(item, dict) else ""
            upload = (
                params.get(ref.removeprefix("attach://")) if ref.startswith("attach://") else None
            )
            if kind not in ("photo", "video") or upload is None:
                return error(400, "Bad Request: wrong file identifier/HTTP URL specified")
            caption = item.get("caption")
            if caption is not None and utf16_length(str(caption)) > 1024:
                return error(400, "Bad Request: message caption is too long")
            stored.append((kind, upload, caption))
        messages = [
            self._store(
                params, caption=caption, media_group_id=str(self._groups), **{kind: _file(up)}
            )
            for kind, up, caption in stored
        ]
        return Reply(200, {"ok": True, "result": messages})

    # -- helpers ---------------------------------------------------------------------

    def _common(self, params: dict[str, Any]) -> Reply | None:
        if not self._is_chat(params.get("chat_id")):
            return error(400, "Bad Request: chat not found")
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            try:
                reply = json.loads(reply)
            except ValueError:
                return error(400, "Bad Request: can't parse reply parameters JSON object")
        if reply is not None:
            wanted = reply.get("message_id") if isinstance(reply, dict) else None
            if not any(m["message_id"] == wanted for m in self.messages):
                return error(400, "Bad Request: message to be replied not found")
        return None

    def _is_chat(self, value: Any) -> bool:
        return str(value) in (str(self.chat["id"]), f"@{self.chat['username']}")

    def _store(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {
            "message_id": self._next_id,
            "chat": dict(self.chat),
            "date": int(self.now().timestamp()),
            **{k: v for k, v in content.items() if v is not None},
        }
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        if isinstance(reply, dict):
            message["reply_to_message"] = next(
                m for m in self.messages if m["message_id"] == reply.get("message_id")
            )
        if "parse_mode" in params:
            message["parse_mode"] = params["parse_mode"]  # recorded: cmctl never sets it
        self.messages.append(message)
        return message

    @staticmethod
    def _ok(message: dict[str, Any]) -> Reply:
        return Reply(200, {"ok": True, "result": message})

    @staticmethod
    def _params(request: RecordedRequest) -> dict[str, Any]:
        """Parameters from the query, a JSON body or a form (files kept as FormParts)."""
        params: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
        if isinstance(request.json, dict):
            params.update(request.json)
        for name, parts in parse_form(request).items():
            part = parts[0]
            params[name] = part if part.filename is not None else part.text
        return params


def _file(part: Any) -> dict[str, Any]:
    """What the fake keeps of an uploaded file (Telegram answers PhotoSize/Video objects)."""
    data = getattr(part, "data", b"")
    return {
        "file_name": getattr(part, "filename", None),
        "mime_type": getattr(part, "content_type", None),
        "file_size": len(data),
    }
