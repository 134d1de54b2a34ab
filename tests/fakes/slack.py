"""A fake Slack Web API: one workspace, one bot, channels, messages, threads and files.

Follows Slack's documentation:

- every method at ``/api/<method>``, the token as ``Authorization: Bearer`` (or a
  ``token`` parameter), arguments as JSON, form fields or the query string
  (https://docs.slack.dev/apis/web-api/);
- the envelope: HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error":
  "<code>"}``, error codes verbatim from each method's "Errors" section
  (https://docs.slack.dev/reference/methods/chat.postMessage and the others below);
  ``invalid_blocks`` carries ``errors`` ("invalid slack file [json-pointer:...]") the
  way Slack answers it (slackapi/python-slack-sdk#1658);
- rate limits: HTTP 429, ``Retry-After`` in seconds, ``{"ok": false, "error":
  "ratelimited"}`` (https://docs.slack.dev/apis/web-api/rate-limits);
- pagination: ``limit`` and ``cursor``, ``has_more`` and
  ``response_metadata.next_cursor`` ("" at the end)
  (https://docs.slack.dev/apis/web-api/pagination);
- methods: auth.test, conversations.info, chat.postMessage (``thread_ts``,
  ``metadata``, ``blocks`` with image blocks whose ``slack_file`` names an uploaded
  file), chat.getPermalink, conversations.history / conversations.replies (``oldest``,
  ``inclusive``, metadata only with ``include_all_metadata``),
  files.getUploadURLExternal → POST the bytes to ``upload_url`` →
  files.completeUploadExternal (shared only with ``channel_id``/``channels``)
  (https://docs.slack.dev/messaging/working-with-files).

``file_ready_after``: how many chat.postMessage calls refuse a just-completed file
before it can be shown (Slack's processing latency, python-slack-sdk#1521).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tests.fakes.base import FakeServer, RecordedRequest, Reply, parse_form

TOKEN = "xoxb-good-token-0123456789"
CHANNEL = "C0CMCTL01"
TEAM = "Acme"
TEAM_ID = "T0ACME001"
BOT_USER = "cmctl_bot"
WORKSPACE = "https://acme.slack.com/"
MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_ALT = 2_000
MAX_ALT_TXT = 1_000


@dataclass
class SlackFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    completed: bool = False
    shared: bool = False
    refusals_left: int = 0  # chat.postMessage calls that still find it "invalid"


@dataclass
class SlackChannel:
    id: str
    name: str
    is_member: bool = True
    is_archived: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # oldest first


class FakeSlack(FakeServer):
    name: ClassVar[str] = "fake-slack"

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.tokens = {TOKEN}
        self.revoked: set[str] = set()
        self.channels = {CHANNEL: SlackChannel(CHANNEL, "announcements")}
        self.files: dict[str, SlackFile] = {}
        self.file_ready_after = 0
        self.retry_after = 1  # seconds in Retry-After of an injected 429
        self._counter = 0

    # -- what tests look at --------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message posted in every channel, thread replies included, oldest first."""
        return [m for c in self.channels.values() for m in c.messages]

    def revoke(self, token: str = TOKEN) -> None:
        self.revoked.add(token)

    def fault_headers(self, status: int) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if status == 429 else {}

    # -- routing -------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        if request.path.startswith("/upload/"):
            return self._upload(request.path.removeprefix("/upload/"), request)
        if not request.path.startswith("/api/"):
            return Reply(404, "Not Found")
        method = request.path.removeprefix("/api/")
        handler = {
            "auth.test": self._auth_test,
            "conversations.info": self._conversations_info,
            "chat.postMessage": self._post_message,
            "chat.getPermalink": self._get_permalink,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }.get(method)
        if handler is None:
            return _error("unknown_method")
        params = _params(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        token = token or str(params.get("token") or "")
        if not token:
            return _error("not_authed")
        if token in self.revoked:
            return _error("token_revoked")
        if token not in self.tokens:
            return _error("invalid_auth")
        return handler(params)

    # -- methods -------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> Reply:
        return _ok(
            url=WORKSPACE,
            team=TEAM,
            user=BOT_USER,
            team_id=TEAM_ID,
            user_id="U0BOT0001",
            bot_id="B0BOT0001",
            is_enterprise_install=False,
        )

    def _channel(self, params: dict[str, Any]) -> SlackChannel | None:
        return self.channels.get(str(params.get("channel") or ""))

    def _conversations_info(self, params: dict[str, Any]) -> Reply:
        channel = self._channel(params)
        if channel is None:
            return _error("channel_not_found")
        return _ok(
            channel={
                "id": channel.id,
                "name": channel.name,
                "is_channel": True,
                "is_archived": channel.is_archived,
                "is_member": channel.is_member,
            }
        )

    def _next_ts(self) -> str:
        self._counter += 1
        return f"{int(self.now().timestamp())}.{self._counter:06d}"

    def _post_message(self, params: dict[str, Any]) -> Reply:
        channel = self._channel(params)
        if channel is None:
            return _error("channel_not_found")
        if channel.is_archived:
            return _error("is_archived")
        if not channel.is_member:
            return _error("not_in_channel")
        text = params.get("text")
        blocks = _decoded(params.get("blocks"))
        metadata = _decoded(params.get("metadata"))
        if not (isinstance(text, str) and text) and not blocks:
            return _error("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            return _error("msg_too_long")
        if blocks is not None:
            problems = self._check_blocks(blocks)
            if problems:
                return _error("invalid_blocks", errors=problems)
        thread_ts = params.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts for m in channel.messages):
            return _error("thread_not_found")
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0BOT0001",
            "user": "U0BOT0001",
            "text": text or "",
            "ts": ts,
        }
        if blocks:
            message["blocks"] = blocks
            for block in blocks:
                if block.get("type") == "image":
                    self.files[block["slack_file"]["id"]].shared = True
        if thread_ts:
            message["thread_ts"] = thread_ts
        if isinstance(metadata, dict):
            message["metadata"] = metadata
        channel.messages.append(message)
        return _ok(channel=channel.id, ts=ts, message=message)

    def _check_blocks(self, blocks: Any) -> list[str]:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return ["no more than 50 items allowed [json-pointer:/blocks]"]
        problems = []
        for n, block in enumerate(blocks):
            where = f"[json-pointer:/blocks/{n}"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "section":
                text = (block.get("text") or {}).get("text")
                if not isinstance(text, str) or len(text) > MAX_SECTION_TEXT:
                    problems.append(f"must be less than 3001 characters {where}/text/text]")
            elif kind == "image":
                alt = block.get("alt_text")
                if not isinstance(alt, str) or not alt or len(alt) > MAX_ALT:
                    problems.append(f"must be less than 2001 characters {where}/alt_text]")
                file_id = (block.get("slack_file") or {}).get("id")
                found = self.files.get(str(file_id))
                if found is None or not found.completed:
                    problems.append(f"invalid slack file {where}/slack_file]")
                elif found.refusals_left > 0:
                    found.refusals_left -= 1
                    problems.append(f"invalid slack file {where}/slack_file]")
            else:
                problems.append(f"unsupported type: {kind} {where}/type]")
        return problems

    def _get_permalink(self, params: dict[str, Any]) -> Reply:
        channel = self._channel(params)
        if channel is None:
            return _error("channel_not_found")
        ts = params.get("message_ts")
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None:
            return _error("message_not_found")
        link = f"{WORKSPACE}archives/{channel.id}/p{str(ts).replace('.', '')}"
        if message.get("thread_ts"):
            link += f"?thread_ts={message['thread_ts']}&cid={channel.id}"
        return _ok(channel=channel.id, permalink=link)

    def _page(self, params: dict[str, Any], found: list[dict[str, Any]]) -> Reply:
        oldest = float(params.get("oldest") or 0)
        inclusive = str(params.get("inclusive") or "").lower() in ("true", "1")
        found = [
            m for m in found if float(m["ts"]) > oldest or (inclusive and float(m["ts"]) == oldest)
        ]
        if str(params.get("include_all_metadata") or "").lower() not in ("true", "1"):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        try:
            limit = max(1, min(999, int(params.get("limit") or 100)))
        except ValueError:
            return _error("invalid_arguments")
        cursor = str(params.get("cursor") or "")
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("next_ts:")) if cursor else 0
        except ValueError:
            return _error("invalid_cursor")
        page = found[start : start + limit]
        more = start + limit < len(found)
        after = base64.b64encode(f"next_ts:{start + limit}".encode()).decode() if more else ""
        return _ok(messages=page, has_more=more, response_metadata={"next_cursor": after})

    def _history(self, params: dict[str, Any]) -> Reply:
        channel = self._channel(params)
        if channel is None:
            return _error("channel_not_found")
        if not channel.is_member:
            return _error("not_in_channel")
        top = [m for m in channel.messages if m.get("thread_ts") in (None, m["ts"])]
        return self._page(params, list(reversed(top)))  # newest first

    def _replies(self, params: dict[str, Any]) -> Reply:
        channel = self._channel(params)
        if channel is None:
            return _error("channel_not_found")
        ts = params.get("ts")
        parent = next((m for m in channel.messages if m["ts"] == ts), None)
        if parent is None:
            return _error("thread_not_found")
        thread = [parent] + [m for m in channel.messages if m.get("thread_ts") == ts]
        return self._page(params, thread)  # oldest first, the parent first

    def _get_upload_url(self, params: dict[str, Any]) -> Reply:
        filename = params.get("filename")
        try:
            length = int(params.get("length") or 0)
        except ValueError:
            length = 0
        if not filename or length <= 0:
            return _error("missing_argument")
        alt = params.get("alt_txt")
        if isinstance(alt, str) and len(alt) > MAX_ALT_TXT:
            return _error("alt_txt_too_large")
        self._counter += 1
        file_id = f"F0FILE{self._counter:05d}"
        self.files[file_id] = SlackFile(file_id, str(filename), length, alt)
        return _ok(upload_url=f"{self.url}/upload/{file_id}", file_id=file_id)

    def _upload(self, file_id: str, request: RecordedRequest) -> Reply:
        found = self.files.get(file_id)
        if found is None:
            return Reply(404, "Not Found")
        found.data = request.body
        return Reply(200, f"OK - {len(request.body)}")

    def _complete_upload(self, params: dict[str, Any]) -> Reply:
        files = _decoded(params.get("files"))
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        done = []
        for entry in files:
            found = self.files.get(str((entry or {}).get("id")))
            if found is None or found.data is None:
                return _error("file_not_found")
            found.completed = True
            found.refusals_left = self.file_ready_after
            found.shared = bool(params.get("channel_id") or params.get("channels"))
            done.append({"id": found.id, "title": entry.get("title") or found.filename})
        return _ok(files=done)


def _ok(**fields: Any) -> Reply:
    return Reply(200, {"ok": True, **fields})


def _error(code: str, **fields: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error": code, **fields}
    if "errors" in fields:
        body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in fields["errors"]]}
    return Reply(200, body)


def _params(request: RecordedRequest) -> dict[str, Any]:
    """Arguments: the query string, then form fields, then a JSON body."""
    params: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
    if isinstance(request.json, dict):
        params.update(request.json)
    else:
        params.update({k: v[-1].text for k, v in parse_form(request).items()})
    return params


def _decoded(value: Any) -> Any:
    """A JSON argument sent as a JSON value or as a URL-encoded JSON string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
