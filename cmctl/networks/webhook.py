# Webhook: cmctl POSTs each post as JSON to a URL you run (your own service, a
# Zapier/Make/n8n hook, a chat bridge...). It is the escape hatch for networks cmctl
# does not know: the receiver decides what to do with the post.
#
# Credentials
#   None are needed beyond the URL. To let the receiver check that a request really
#   comes from cmctl, give a signing secret in the Standard Webhooks format: `whsec_`
#   followed by base64 of 24 to 64 random bytes, e.g.
#       python -c "import base64,os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())"
#   Each request then carries the headers `webhook-id`, `webhook-timestamp` and
#   `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, which
#   the receiver verifies with any Standard Webhooks library. In cmctl.yaml:
#       network: webhook
#       url: https://hooks.example.com/cmctl
#       secret: ${CMCTL_WEBHOOK_SECRET}
#   Spec: https://www.standardwebhooks.com/ and
#   https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
#
# Limits
#   - None of the network's own: cmctl sets no text limit (max_length None); a
#     receiver with limits should validate on its side.
#   - Media: common web image and video types with generous ceilings (100 MB per image,
#     2 GB per video, 50 files), chosen by cmctl rather than any outside document.
#   - Threads: yes. Follow-up parts are delivered in order, each naming the part it
#     replies to, so the receiver can rebuild the chain.
#
# Publishing: one POST to `url` per part (https://www.standardwebhooks.com/, spec
# https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)
#   Headers
#     content-type: application/json
#     webhook-id: msg_<the job's idempotency key>   (the same on every attempt)
#     webhook-timestamp: <UNIX seconds of this attempt>
#     webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"
#                        keyed with the base64-decoded secret (after "whsec_")>
#                        (only when `secret` is set)
#   Body (compact JSON, UTF-8; the exact bytes that were signed)
#     {
#       "type": "post.published",
#       "timestamp": "2026-12-01T08:30:00.123456Z",   # when cmctl sent it (UTC)
#       "data": {
#         "key": "dec:launch@hook#1",                  # the job: calendar:post@account[#part]
#         "calendar": "dec",
#         "post": "launch",                            # the post's id in the calendar
#         "part": 1,                                   # 0 = the post, 1.. = thread parts
#         "text": "…",
#         "media": [{"path": "/abs/path/cover.png",    # absolute path on cmctl's machine
#                    "alt": "A red rocket" | null,
#                    "mime_type": "image/png" | null,  # sniffed from the content
#                    "size": 123456}],
#         "lang": ["en"],                              # BCP 47 tags, maybe empty
#         "scheduled_at": "2026-12-01T08:30:00Z",
#         "in_reply_to": "msg_…" | null                # webhook-id of the previous part
#       }
#     }
#   Any 2xx is success. If the answer is a JSON object with a string "url" (where the
#   receiver put the post), cmctl records that URL. 429/5xx: retried later; other
#   statuses: the receiver refused the post (redirects are not followed).
#   `cmctl accounts check` sends nothing: a receiver wired to a network may publish
#   whatever it gets. It checks the URL, the secret's format and a TCP/TLS handshake
#   with the host. Only `cmctl accounts check --send-test NAME` delivers an event:
#   {"type": "cmctl.ping", "timestamp", "data": {"account"}} with a fresh webhook-id;
#   a receiver should answer 2xx and ignore unknown types.
#
# Idempotency (idempotency_window = None)
#   The webhook-id "is a unique identifier associated with a specific event
#   triggered, and it remains the same no matter how many times a webhook that has
#   failed is retried. The ID is often used as an idempotency key, which lets a
#   consumer ensure that they only process a specific event once" (Standard Webhooks,
#   "Webhook metadata"). cmctl derives it from the job alone, so every retry, however
#   late, carries the same id: a receiver that dedupes on webhook-id never posts twice.
#   (A receiver that does not dedupe may see a part twice after an ambiguous failure.)

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import parse_qsl, urlsplit

from cmctl import clock
from cmctl.networks.base import (
    OPEN_MEDIA,
    OPEN_MEDIA_MAX,
    AccountField,
    Idempotency,
    MediaKind,
    Network,
    Permanent,
    Sent,
)
from cmctl.redact import MIN_SECRET_LENGTH

if TYPE_CHECKING:
    from datetime import datetime

    from cmctl.networks.base import Outgoing

# An httpx.Response. Declaration files name no httpx, even for type checking, so that
# `cmctl validate` never loads it (see base.py); the HTTP helper hands these over.
Response: TypeAlias = Any

EVENT_TYPE = "post.published"
PING_TYPE = "cmctl.ping"
SECRET_PREFIX = "whsec_"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")  # no "." (it delimits the signed content)


class Webhook(Network):
    name: ClassVar[str] = "webhook"
    title: ClassVar[str] = "Webhook"
    docs_url: ClassVar[str] = "https://www.standardwebhooks.com/"
    api_base_field: ClassVar[str | None] = "url"  # the receiver is the account's own URL

    max_length: ClassVar[int | None] = None

    media_kinds: ClassVar[tuple[MediaKind, ...]] = OPEN_MEDIA
    max_media: ClassVar[int] = OPEN_MEDIA_MAX
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = True

    publishes: ClassVar[bool] = True
    # Receivers dedupe on webhook-id, which is the same on every attempt (see above).
    idempotency_window: ClassVar[timedelta | None] = None
    idempotency: ClassVar[Idempotency] = Idempotency.CHOSEN_ID

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField(
            "url",
            required=True,
            help="the https URL cmctl POSTs each post to",
            example="https://hooks.example.com/cmctl",
        ),
        AccountField(
            "secret",
            secret=True,
            help="Standard Webhooks signing secret (whsec_ followed by base64); "
            "when set, every request is signed",
        ),
    )

    # ------------------------------------------------------------------ publishing
    @property
    def url(self) -> str:
        """Where each post goes: `api_url` when set (a proxy, a test receiver), else `url`."""
        url = str(self.options.get("api_url") or self.options.get("url") or "").strip()
        if not url.startswith(("https://", "http://")):
            raise Permanent("the account's `url` must be an http(s) URL")
        # Receivers often put a token in the path or the query (Zapier, n8n,
        # Discord-style hooks), or credentials in the userinfo: treat everything after
        # the host, and each piece of it long enough to be a token, as a secret.
        self.http.add_url(url)
        parts = urlsplit(url)
        rest = url.split("://", 1)[1].partition("/")[2]
        pieces = [rest, parts.path.strip("/"), parts.query, parts.fragment]
        pieces += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
        for piece in pieces:
            if len(piece) >= MIN_SECRET_LENGTH:
                self.http.add_secret(piece)
        return url

    def publish(self, out: Outgoing) -> Sent:
        msg_id = webhook_id(out.idempotency_key)
        event = {
            "type": EVENT_TYPE,
            "timestamp": _iso(clock.now()),
            "data": payload(out),
        }
        response = self._send(msg_id, event, creates=True)
        return Sent(remote_id=msg_id, url=_answered_url(response), ref={"id": msg_id})

    def check(self) -> str:
        """What can be checked without delivering anything: a receiver may publish any
        request it gets, so none is sent. The URL's syntax, the signing secret's
        format, and a TCP (and TLS, for https) handshake with the receiver's host."""
        url = self.url
        parts = urlsplit(url)
        if not parts.hostname:
            raise Permanent("the account's `url` has no host")
        secret = self.options.get("secret")
        if secret:
            secret_key(str(secret))  # raises on a malformed secret, never quoting it
        reached = self.http.reach(url)
        signed = "signing secret well-formed" if secret else "no signing secret (unsigned)"
        name = getattr(self.account, "name", self.account)
        return self.http.redact(
            f"{reached}; {signed}; nothing sent: a webhook cannot be proved without "
            f"delivering an event (`cmctl accounts check --send-test {name}` sends a "
            f"{PING_TYPE} test event)"
        )

    def send_test(self) -> str:
        """Deliver one ``cmctl.ping`` event (asked for with `accounts check --send-test`)."""
        now = clock.now()
        name = getattr(self.account, "name", self.account)
        stamp = hashlib.sha256(f"{name}:{now.timestamp()}".encode()).hexdigest()[:24]
        msg_id = f"msg_ping_{stamp}"
        event = {"type": PING_TYPE, "timestamp": _iso(now), "data": {"account": str(name)}}
        response = self._send(msg_id, event, creates=False)
        signed = "signed" if self.options.get("secret") else "unsigned"
        return self.http.redact(
            f"sent a {signed} {PING_TYPE} test event ({msg_id}) to "
            f"{self.url}: it answered {response.status_code}"
        )

    def _send(self, msg_id: str, event: dict[str, Any], *, creates: bool) -> Response:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(clock.now().timestamp()))
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": timestamp,
        }
        secret = self.options.get("secret")
        if secret:
            self.http.add_secret(str(secret))
            key = secret_key(str(secret))
            self.http.add_secret(base64.b64encode(key).decode("ascii"))
            headers["webhook-signature"] = sign(key, msg_id, timestamp, body)
        return self.http.request("POST", self.url, creates=creates, headers=headers, content=body)

    # ------------------------------------------------------------------ settled by hand
    def reference(self, url: str) -> Sent | None:
        """None: a receiver is only ever told about posts; cmctl cannot ask it which
        message a link is, so a part settled by hand ends its thread on a webhook (the
        later parts' `in_reply_to` would name a message the receiver never got)."""
        return None


def webhook_id(idempotency_key: str) -> str:
    """``msg_`` + the idempotency key (hashed if it holds anything but [A-Za-z0-9_-])."""
    if not _SAFE_ID.match(idempotency_key):
        idempotency_key = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"msg_{idempotency_key}"


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64 after ``whsec_`` (as the Standard Webhooks libraries do)."""
    encoded = secret.strip()
    encoded = encoded.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Permanent(
            "the webhook `secret` is not whsec_ followed by base64; generate one with "
            "python -c \"import base64,os; print('whsec_' + "
            'base64.b64encode(os.urandom(32)).decode())"'
        ) from None
    if not key:
        raise Permanent("the webhook `secret` is empty")
    return key


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def payload(out: Outgoing) -> dict[str, Any]:
    """The ``data`` of a post.published event (documented in the header above)."""
    from cmctl.media import facts

    media = []
    for item in out.media:
        try:
            found = facts(item.path, item.root)
            mime, size = found.mime_type, found.size
        except OSError:
            mime, size = None, None
        media.append({"path": str(item.path), "alt": item.alt, "mime_type": mime, "size": size})
    return {
        "key": out.key,
        "calendar": out.calendar,
        "post": out.post_id,
        "part": out.part,
        "text": out.text,
        "media": media,
        "lang": list(out.lang),
        "scheduled_at": _iso(out.scheduled_at),
        "in_reply_to": out.reply_to.remote_id if out.reply_to is not None else None,
    }


def _answered_url(response: Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    url = body.get("url") if isinstance(body, dict) else None
    return url if isinstance(url, str) and url else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
