"""A fake webhook receiver that checks Standard Webhooks signatures and dedupes deliveries.

Sources: the Standard Webhooks specification v1.0.0,
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
(also https://www.standardwebhooks.com/), and its reference Python library
``libraries/python/standardwebhooks/webhooks.py`` (commit b2fa7b8):

- headers ``webhook-id``, ``webhook-timestamp`` (integer Unix seconds) and
  ``webhook-signature`` (space-separated ``v1,<base64 signature>`` entries; other
  versions such as ``v1a`` are skipped);
- signed content ``f"{webhook-id}.{webhook-timestamp}.{body}"``, HMAC-SHA256 with the
  secret: the base64 text after ``whsec_`` decoded to bytes; compared in constant time;
- the timestamp must be within 5 minutes of the receiver's clock either way (the
  library's ``webhook_tolerance``), against replays;
- "Use the webhook-id header as an idempotency key to prevent accidentally processing
  the same webhook more than once": ``deliveries`` keeps the first accepted delivery
  of each id, ``attempts`` every request;
- any 2xx means delivered; 410 asks the sender to stop, 429/502/504 to slow down
  ("Delivery success and failure").

The spec leaves a receiver's answer to a bad signature open; this fake answers
``401 {"error": "<reason>"}`` with the reference library's reasons ("Missing required
headers", "Invalid Signature Headers", "Message timestamp too old", "Message
timestamp too new", "No matching signature found"). Accepted deliveries get
``200 {"ok": true, "duplicate": <bool>}``. Only POST is accepted (405 otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from tests.fakes.base import FakeServer, RecordedRequest, Reply

__all__ = ["WEBHOOK_SECRET", "FakeWebhookReceiver", "WebhookDelivery", "sign"]

#: A valid secret for tests (32 bytes, base64, with the whsec_ prefix).
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"cmctl-fake-webhook-secret-32byte").decode()
TOLERANCE = timedelta(minutes=5)


def _key(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    if not key:
        raise ValueError("webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one message."""
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    to_sign = f"{msg_id}.{timestamp}.".encode() + data
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST as the receiver saw it."""

    id: str | None
    timestamp: int | None
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any | None
    received_at: datetime
    verified: bool  # signature checked and good (False when no secret is set)
    accepted: bool  # answered 2xx
    duplicate: bool  # an earlier accepted delivery had the same webhook-id
    error: str | None = None


class FakeWebhookReceiver(FakeServer):
    """Receives POSTs on any path. See the module docstring."""

    name: ClassVar[str] = "fake-webhook"

    def __init__(self, secret: str | None = None, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        if secret is not None:
            _key(secret)  # fail early on a malformed secret
        self.secret = secret
        #: Accepted deliveries, one per webhook-id (or per request without an id).
        self.deliveries: list[WebhookDelivery] = []
        #: Every POST, accepted or not, duplicates included.
        self.attempts: list[WebhookDelivery] = []
        self._seen: set[str] = set()

    @property
    def payloads(self) -> list[Any]:
        """The parsed JSON body of each unique delivery."""
        return [d.json for d in self.deliveries]

    def route(self, request: RecordedRequest) -> Reply:
        if request.method != "POST":
            return Reply(405, {"error": "Method Not Allowed"}, {"Allow": "POST"})
        msg_id = request.headers.get("webhook-id")
        stamp = request.headers.get("webhook-timestamp")
        error = self._verify(request) if self.secret is not None else None
        try:
            timestamp = int(stamp) if stamp is not None else None
        except ValueError:
            timestamp = None
        duplicate = error is None and msg_id is not None and msg_id in self._seen
        parsed = request.json
        if parsed is None and request.body:
            try:
                parsed = json.loads(request.body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed = None
        delivery = WebhookDelivery(
            id=msg_id,
            timestamp=timestamp,
            path=request.path,
            headers=request.headers,
            body=request.body,
            json=parsed,
            received_at=request.received_at,
            verified=self.secret is not None and error is None,
            accepted=error is None,
            duplicate=duplicate,
            error=error,
        )
        self.attempts.append(delivery)
        if error is not None:
            return Reply(401, {"error": error})
        if not duplicate:
            self.deliveries.append(delivery)
            if msg_id is not None:
                self._seen.add(msg_id)
        return Reply(200, {"ok": True, "duplicate": duplicate})

    def _verify(self, request: RecordedRequest) -> str | None:
        assert self.secret is not None
        msg_id = request.headers.get("webhook-id")
        stamp = request.headers.get("webhook-timestamp")
        signatures = request.headers.get("webhook-signature")
        if not (msg_id and stamp and signatures):
            return "Missing required headers"
        try:
            when = datetime.fromtimestamp(float(stamp), tz=UTC)
            seconds = int(float(stamp))
        except (ValueError, OverflowError, OSError):
            return "Invalid Signature Headers"
        now = self.now()
        if when < now - TOLERANCE:
            return "Message timestamp too old"
        if when > now + TOLERANCE:
            return "Message timestamp too new"
        expected = base64.b64decode(sign(self.secret, msg_id, seconds, request.body)[3:])
        for versioned in signatures.split(" "):
            version, _, value = versioned.partition(",")
            if version != "v1":
                continue
            try:
                given = base64.b64decode(value, validate=True)
            except ValueError:
                continue
            if hmac.compare_digest(expected, given):
                return None
        return "No matching signature found"
