# Slack: a message in a Slack channel, sent by a Slack app's bot with chat.postMessage
# (POST https://slack.com/api/chat.postMessage, JSON, `Authorization: Bearer xoxb-...`).
#
# Credentials
#   https://api.slack.com/apps → Create New App → From scratch, pick the workspace.
#   OAuth & Permissions → Bot Token Scopes: `chat:write`, `files:write` (images),
#   `channels:history` (and `groups:history` for a private channel: cmctl reads the
#   channel back after an ambiguous send), `channels:read` / `groups:read` (for
#   `cmctl accounts check`). Install to Workspace and copy the "Bot User OAuth Token"
#   (xoxb-...). Invite the bot to the channel with /invite @yourapp. The channel is
#   named by its id (channel name → View channel details → the id at the bottom,
#   C0123...). In cmctl.yaml:
#       network: slack
#       token: ${SLACK_BOT_TOKEN}
#       channel: C0123ABCDEF
#   A bot token does not expire unless the app is uninstalled or the token revoked
#   (or token rotation is turned on for the app: leave it off for cmctl).
#
# Sources for every limit below
#   - 40,000 characters: chat.postMessage, argument `text`: "we'll truncate messages
#     containing more than 40,000 characters" (Slack recommends staying under 4,000),
#     https://docs.slack.dev/reference/methods/chat.postMessage and the changelog
#     https://api.slack.com/changelog/2018-04-truncating-really-long-messages
#     Slack truncates rather than rejects, which is why cmctl reports it as an error:
#     a truncated post is a broken post.
#   - 3,000 characters with images: the text then goes in a section block, whose
#     `text` is at most 3,000 characters (https://docs.slack.dev/reference/block-kit/
#     blocks/section-block); a message has at most 50 blocks
#     (https://docs.slack.dev/reference/block-kit/blocks), one for the text: 49 images.
#   - Images: an `image` block with `slack_file: {"id": ...}` and `alt_text` (at most
#     2,000 characters), png, jpg, jpeg and gif only
#     (https://docs.slack.dev/reference/block-kit/blocks/image-block,
#     https://docs.slack.dev/reference/block-kit/composition-objects/slack-file-object).
#   - Alt text 1,000: files.getUploadURLExternal `alt_txt`, error alt_txt_too_large
#     "Description for the image is longer than the limit of 1000 character"
#     (https://docs.slack.dev/reference/methods/files.getUploadURLExternal).
#   - Rate limits: chat.postMessage "generally allows posting one message per second per
#     channel"; an exceeded limit is HTTP 429 with `Retry-After` (seconds) and error
#     `ratelimited` (https://docs.slack.dev/apis/web-api/rate-limits).
#
# Conservative choices
#   - Counting: Slack does not say what its "characters" are; cmctl counts UTF-16 code
#     units (an emoji counts 2), never less than code points.
#   - 50 MB per image: Slack documents no size for a file shown in an image block (a
#     workspace may restrict uploads: file_upload_size_restricted); 50 MB is ample.
#
# Publishing
#   1. Each image: files.getUploadURLExternal (form: filename, length, alt_txt) gives an
#      `upload_url` and a `file_id`; the bytes are POSTed to upload_url; then
#      files.completeUploadExternal {"files": [{"id", "title"}]} WITHOUT channel_id, so
#      the file is not shared in the channel on its own
#      (https://docs.slack.dev/reference/methods/files.completeUploadExternal: "If not
#      specified the file will be private"), https://docs.slack.dev/messaging/working-with-files.
#      The completed file ids are saved as the job's checkpoint (Outgoing.save) before
#      the message goes out: a retry never uploads them again.
#   2. chat.postMessage {channel, text, blocks (a section with the text, then one image
#      block per file), thread_ts (the root's ts, for a thread part), metadata:
#      {"event_type": "cmctl_post", "event_payload": {"key": <job key>}}}. Every message,
#      image or not, carries the job's key in its metadata: that is what a look-up finds.
#      A file Slack has not finished processing is refused as `invalid_blocks` ("invalid
#      slack file", a known latency: slackapi/python-slack-sdk#1521): with images this is
#      NotReady (a short wait, at most MAX_FILE_POLLS times), then a refusal.
#   3. The URL: chat.getPermalink {channel, message_ts}; when that call fails the post is
#      still published (the URL is built from auth.test's workspace URL when known).
#   Errors: `200 {"ok": false, "error": "<code>"}` is an error (read through `answers`);
#   each code cmctl knows gets a hint saying what to do (HINTS below).
#
# Idempotency (LOOKUP)
#   chat.postMessage has no idempotency key. After an ambiguous send cmctl reads the
#   channel back: conversations.history (oldest = the first attempt, inclusive,
#   include_all_metadata=true) for a thread's first message, conversations.replies
#   (ts = the root) for a reply, cursor-paginated up to MAX_PAGES pages, and looks for a
#   message whose metadata carries this job's key
#   (https://docs.slack.dev/reference/methods/conversations.history,
#   https://docs.slack.dev/messaging/message-metadata). Non-Marketplace apps created
#   after 29 May 2025 may read 15 messages a minute there: a 429 then is a wait.
#
# Checking an account (`check`)
#   auth.test names the team and the bot user; conversations.info proves the channel
#   exists and the bot can see it.

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from cmctl.networks.base import (
    MB,
    AccountField,
    Ambiguous,
    Answers,
    Idempotency,
    MediaKind,
    Network,
    NotReady,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)

if TYPE_CHECKING:
    from cmctl.networks.base import Attachment

# An httpx.Response (declaration files name no httpx, see base.py).
Response: TypeAlias = Any

EVENT_TYPE = "cmctl_post"  # metadata.event_type of every message cmctl posts
MAX_PAGES = 10  # pages of history a look-up reads before it says "not found"
PAGE_SIZE = 200
# Waits for a just-uploaded file that Slack does not show yet (seconds), then refused.
FILE_POLL_DELAYS = (2.0, 4.0, 8.0, 15.0, 30.0)
MAX_FILE_POLLS = len(FILE_POLL_DELAYS)

_REINSTALL = (
    "reinstall the app to the workspace (api.slack.com/apps → OAuth & Permissions) and "
    "put its new Bot User OAuth Token (xoxb-...) in the account's `token`"
)
# What to do, by Slack's error code (https://docs.slack.dev/reference/methods/chat.postMessage
# "Errors", and the same section of each method used here).
HINTS: dict[str, str] = {
    "not_in_channel": "the bot is not a member of the channel: type /invite @yourapp in it",
    "channel_not_found": "check the account's `channel`: the channel's id (C0123...), from "
    "View channel details; a private channel needs the bot invited first",
    "is_archived": "the channel is archived: unarchive it or set another `channel`",
    "invalid_auth": "the token is not valid: copy the Bot User OAuth Token (xoxb-...) from "
    "api.slack.com/apps → OAuth & Permissions into the account's `token`",
    "not_authed": "no token was sent: set the account's `token`",
    "token_revoked": "the token was revoked or the app uninstalled: " + _REINSTALL,
    "token_expired": "the token expired (token rotation is on for the app): turn rotation "
    "off and " + _REINSTALL,
    "account_inactive": "the bot user or workspace was deactivated: " + _REINSTALL,
    "missing_scope": "the app lacks a scope: add chat:write, files:write, channels:history "
    "(groups:history for a private channel) and channels:read, then reinstall the app",
    "msg_too_long": "the message is longer than Slack accepts: shorten the post",
    "msg_blocks_too_long": "the message's blocks are longer than Slack accepts: shorten the "
    "post's text or use fewer images",
    "no_text": "the post has no text",
    "restricted_action": "a workspace admin restricts who may post in this channel",
    "ekm_access_denied": "workspace administrators suspended posting",
    "ratelimited": "Slack's rate limit: cmctl waits for Retry-After",
    "alt_txt_too_large": "an alt text is longer than 1,000 characters: shorten it",
    "file_uploads_disabled": "the workspace does not allow file uploads",
    "file_type_not_allowed": "the workspace does not allow this file type",
    "file_upload_size_restricted": "the workspace restricts the size of uploads",
    "invalid_blocks": "Slack refused the message's blocks",
}
_CODE = re.compile(r": \d{3} ([a-z_]+)")


class Slack(Network):
    name: ClassVar[str] = "slack"
    title: ClassVar[str] = "Slack"
    docs_url: ClassVar[str] = "https://docs.slack.dev/reference/methods/chat.postMessage"
    api_base: ClassVar[str | None] = "https://slack.com/api"

    # Slack answers 200 with {"ok": false, "error": "<code>"} (docs.slack.dev, "Web API
    # basics": errors); rate limits are 429 + Retry-After. fatal_error / internal_error:
    # "It's possible some aspect of the operation succeeded before the error was raised".
    answers: ClassVar[Answers | None] = Answers(
        ok="ok",
        message=("error",),
        code=("error",),
        expired=frozenset(
            {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
        ),
        later=frozenset({"ratelimited", "rate_limited", "service_unavailable"}),
        maybe=frozenset({"fatal_error", "internal_error"}),
    )

    max_length: ClassVar[int | None] = 40_000
    caption_max_length: ClassVar[int | None] = 3_000  # a section block's text
    length_unit: ClassVar[str] = "characters"

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/png", "image/jpeg", "image/gif"}),
            max_bytes=50 * MB,
            max_count=49,
        ),
    )
    max_media: ClassVar[int] = 49
    alt_max_length: ClassVar[int | None] = 1_000

    threads: ClassVar[bool] = True  # thread_ts: replies under the first message

    publishes: ClassVar[bool] = True
    idempotency: ClassVar[Idempotency] = Idempotency.LOOKUP
    finds: ClassVar[bool] = True

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "token",
            required=True,
            secret=True,
            help="the app's Bot User OAuth Token (xoxb-...), api.slack.com/apps → "
            "OAuth & Permissions",
        ),
        AccountField(
            "channel",
            required=True,
            help="the channel's id (C0123...), from View channel details",
        ),
    )

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: Slack does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

    # ------------------------------------------------------------------ calls
    @property
    def channel(self) -> str:
        channel = str(self.options.get("channel") or "").strip()
        if not channel:
            raise Permanent("the account has no `channel` (the channel's id, C0123...)")
        return channel

    def _headers(self) -> dict[str, str]:
        token = str(self.options.get("token") or "").strip()
        if not token:
            raise Permanent("the account has no `token` (the bot token, xoxb-...)")
        self.http.add_secret(token)
        return {"Authorization": f"Bearer {token}"}

    def _call(
        self,
        method: str,
        *,
        creates: bool = False,
        get: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One Web API method; the typed error carries a hint for the codes cmctl knows."""
        url = f"{self.api_url}/{method}"
        try:
            if get is not None:
                response = self.http.request(
                    "GET", url, headers=self._headers(), params=get, **kwargs
                )
            else:
                response = self.http.request(
                    "POST", url, creates=creates, headers=self._headers(), **kwargs
                )
        except SendError as exc:
            raise _with_hint(exc) from None
        body = _json_object(response)
        if body is None:
            error = Ambiguous if creates else Transient
            raise error(f"{method}: Slack answered {response.status_code} without a JSON object")
        return body

    # ------------------------------------------------------------------ publishing
    def publish(self, out: Outgoing) -> Sent:
        progress: dict[str, Any] = dict(out.checkpoint or {})
        files = self._files(out, progress)
        payload: dict[str, Any] = {
            "channel": self.channel,
            "text": out.text,
            "unfurl_links": True,
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"key": out.key}},
        }
        if files:
            blocks: list[dict[str, Any]] = []
            if out.text.strip():
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": out.text}})
            for item, file_id in files:
                alt = (item.alt or "").strip() or item.path.name
                blocks.append({"type": "image", "slack_file": {"id": file_id}, "alt_text": alt})
            payload["blocks"] = blocks
        if out.part and out.root is not None:
            payload["thread_ts"] = out.root.remote_id
        try:
            body = self._call("chat.postMessage", creates=True, json=payload)
        except Permanent as exc:
            if files and "invalid_blocks" in exc.message:
                polls = int(progress.get("polls") or 0)
                if polls < MAX_FILE_POLLS:
                    out.save({**progress, "polls": polls + 1})
                    raise NotReady(
                        f"Slack has not finished processing an uploaded image ({exc.message})",
                        retry_in=FILE_POLL_DELAYS[polls],
                    ) from None
            raise
        ts = body.get("ts")
        if not isinstance(ts, str) or not ts:
            raise Ambiguous("chat.postMessage: Slack answered without the message's ts")
        channel = str(body.get("channel") or self.channel)
        return Sent(
            remote_id=ts, url=self._permalink(channel, ts), ref={"channel": channel, "ts": ts}
        )

    def _files(self, out: Outgoing, progress: dict[str, Any]) -> list[tuple[Attachment, str]]:
        """Each image uploaded (and completed, unshared) once: ids kept in the checkpoint."""
        done: dict[str, str] = dict(progress.get("files") or {})
        found = []
        for item in out.media:
            mark = item.fingerprint
            if mark not in done:
                done[mark] = self._upload(item)
                progress["files"] = dict(done)
                out.save(dict(progress))
            found.append((item, done[mark]))
        return found

    def _upload(self, item: Attachment) -> str:
        from cmctl.media import MediaProblem, read_checked

        try:
            data, facts = read_checked(item.path, item.root, self.media_kinds[0].max_bytes)
        except MediaProblem as p:  # checked again at send time: the file may have changed
            raise Permanent(p.message) from None
        form = {"filename": item.path.name, "length": str(len(data))}
        if item.alt:
            form["alt_txt"] = item.alt
        ticket = self._call("files.getUploadURLExternal", data=form)
        upload_url, file_id = ticket.get("upload_url"), ticket.get("file_id")
        if not isinstance(upload_url, str) or not isinstance(file_id, str) or not file_id:
            raise Transient("files.getUploadURLExternal: Slack answered without an upload URL")
        self.http.add_secret(upload_url, partial=False)  # a capability URL: never shown
        mime = facts.mime_type or "application/octet-stream"
        try:
            self.http.request("POST", upload_url, content=data, headers={"Content-Type": mime})
        except SendError as exc:
            raise _with_hint(exc) from None
        # No channel_id: the file stays private to the bot until the message shows it.
        self._call(
            "files.completeUploadExternal",
            json={"files": [{"id": file_id, "title": item.path.name}]},
        )
        return file_id

    def _permalink(self, channel: str, ts: str) -> str | None:
        """chat.getPermalink; never fails a published post (None, or built from the
        workspace URL auth.test gave)."""
        try:
            body = self._call("chat.getPermalink", get={"channel": channel, "message_ts": ts})
        except SendError:
            workspace = getattr(self, "_workspace", None)
            if workspace:
                return f"{workspace.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
            return None
        link = body.get("permalink")
        return link if isinstance(link, str) and link else None

    # ------------------------------------------------------------------ look-up
    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """The message whose metadata carries ``out.key``, posted at or after ``since``."""
        query = {
            "channel": self.channel,
            "oldest": f"{since.timestamp():.6f}",
            "inclusive": "true",
            "include_all_metadata": "true",
            "limit": str(PAGE_SIZE),
        }
        if out.part and out.root is not None:
            method = "conversations.replies"
            query["ts"] = out.root.remote_id
        else:
            method = "conversations.history"
        cursor = ""
        for _ in range(MAX_PAGES):
            body = self._call(method, get={**query, **({"cursor": cursor} if cursor else {})})
            messages = body.get("messages")
            for message in messages if isinstance(messages, list) else []:
                if _carries(message, out.key):
                    ts = str(message["ts"])
                    return Sent(
                        remote_id=ts,
                        url=self._permalink(self.channel, ts),
                        ref={"channel": self.channel, "ts": ts},
                    )
            meta = body.get("response_metadata")
            cursor = str(meta.get("next_cursor") or "") if isinstance(meta, dict) else ""
            if not cursor:
                return None
        raise Transient(
            f"{method}: this job's message is not in the {MAX_PAGES * PAGE_SIZE} messages "
            "read; the channel is too busy to be sure (cmctl looks again later)"
        )

    # ------------------------------------------------------------------ check
    def check(self) -> str:
        me = self._call("auth.test")
        team, user = me.get("team"), me.get("user")
        url = me.get("url")
        if isinstance(url, str) and url:
            self._workspace = url
        info = self._call("conversations.info", get={"channel": self.channel})
        channel = info.get("channel")
        name = channel.get("name") if isinstance(channel, dict) else None
        where = f"#{name}" if name else self.channel
        who = f"@{user or '?'} in {team or '?'}, channel {where} ({self.channel})"
        if isinstance(channel, dict) and channel.get("is_member") is False:
            who += " (warning: the bot is not in the channel: type /invite @yourapp in it)"
        if isinstance(channel, dict) and channel.get("is_archived"):
            who += " (warning: the channel is archived)"
        return who


def _with_hint(exc: SendError) -> SendError:
    """The same error (class, retry delay), its message followed by what to do."""
    match = _CODE.search(exc.message)
    hint = HINTS.get(match.group(1)) if match else None
    if hint and hint not in exc.message:
        exc.message = f"{exc.message}: {hint}"
        exc.args = (exc.message,)
    return exc


def _carries(message: Any, key: str) -> bool:
    if not isinstance(message, dict) or not isinstance(message.get("ts"), str):
        return False
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
        return False
    payload = meta.get("event_payload")
    return isinstance(payload, dict) and payload.get("key") == key


def _json_object(response: Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
