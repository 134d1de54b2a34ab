"""HTTP for adapters: one httpx client, failures mapped to typed errors, secrets redacted.

The mapping is the heart of "never post twice": a failure that may have happened
*after* the network stored the post (a read timeout, a 500/502/504 to a create
request) is ``Ambiguous``. Whether resending is then safe is not decided here but by
the publisher, from the network's declared ``idempotency_window`` and the time of the
first attempt that may have reached it.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from cmctl import __version__, clock
from cmctl.networks.base import Ambiguous, Permanent, SendError, Transient

USER_AGENT = f"cmctl/{__version__} (+https://github.com/cmctl/cmctl)"
REDACTED = "***"

Classifier = Callable[[httpx.Response], SendError | None]


def default_timeout() -> float:
    """Seconds to wait for a network's answer: $CMCTL_HTTP_TIMEOUT, else 30."""
    import os

    try:
        value = float(os.environ.get("CMCTL_HTTP_TIMEOUT", "30"))
    except ValueError:
        return 30.0
    return value if value > 0 else 30.0


_ssl_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None


def ssl_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~150 ms each time."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            _ssl_context = httpx.create_ssl_context()
        return _ssl_context


class Http:
    def __init__(self, *, secrets: Iterable[str] = (), timeout: float | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        timeout = timeout if timeout is not None else default_timeout()
        self._secrets: set[str] = {s for s in secrets if s}
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            transport=transport,
            verify=ssl_context(),
        )

    def add_secret(self, value: str | None) -> None:
        if value:
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        creates: bool = False,
        classify: Classifier | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send; return a 2xx response or raise Transient / Permanent / Ambiguous.

        ``creates``: the request publishes something, so a failure after sending it is
        Ambiguous; any other request (a read, an upload) is simply retried.
        """
        where = f"{method} {_path(url)}"
        risky = creates
        try:
            response = self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient(self.redact(f"{where}: cannot connect ({_reason(exc)})")) from None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError,
                httpx.InvalidURL) as exc:  # refused before anything was sent: a config error
            raise Permanent(self.redact(f"{where}: {_reason(exc)}: {exc}")) from None
        except httpx.TransportError as exc:  # sent, but no (complete) answer
            message = self.redact(f"{where}: no answer after sending ({_reason(exc)})")
            if risky:
                raise Ambiguous(message + "; the network may have published it") from None
            raise Transient(message) from None
        if response.is_success:
            return response
        if classify is not None:
            problem = classify(response)
            if problem is not None:
                problem.message = self.redact(problem.message)
                problem.args = (problem.message,)
                raise problem
        status = response.status_code
        message = self.redact(f"{where}: {status} {error_message(response)}")
        if status == 429 or status == 503:
            raise Transient(message, retry_after(response))
        if status >= 500:
            if risky:
                raise Ambiguous(message + "; the network may have published it")
            raise Transient(message, retry_after(response))
        if status == 408:
            if risky:
                raise Ambiguous(message)
            raise Transient(message)
        raise Permanent(message)


def _path(url: str) -> str:
    """The URL without query string (where tokens sometimes hide)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def _reason(exc: Exception) -> str:
    return type(exc).__name__


def error_message(response: httpx.Response) -> str:
    """The network's own words: `error`, `message`, `error_description`, or the text."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip()
        return text[:300] if text else response.reason_phrase
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "message", "error_description", "detail")
                 if isinstance(body.get(k), (str, int)) and body.get(k) != ""]
        details = body.get("details")
        if isinstance(details, dict):
            parts += [f"{k}: {v}" for k, v in details.items()][:3]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return json.dumps(body)[:300]


MAX_RETRY_AFTER = 24 * 3600.0  # seconds; anything longer (or not a number) is nonsense


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait, from Retry-After or a rate-limit reset header, if any (capped)."""
    import math

    value = _retry_after(response)
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_RETRY_AFTER)


def _retry_after(response: httpx.Response) -> float | None:
    headers = response.headers
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            return max(0.0, (moment.astimezone(UTC) - clock.now()).total_seconds())
    remaining = next((headers[n] for n in ("x-ratelimit-remaining", "ratelimit-remaining",
                                          "x-rate-limit-remaining") if n in headers), None)
    if response.status_code != 429 and (remaining is None or remaining.strip() != "0"):
        return None  # a reset time is a deadline only when the quota is spent
    for name in ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"):
        value = headers.get(name)
        if not value:
            continue
        value = value.strip()
        try:
            number = float(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return max(0.0, (moment - clock.now()).total_seconds())
        if number > 1_000_000_000:  # an epoch timestamp
            return max(0.0, number - clock.now().timestamp())
        return max(0.0, number)  # seconds from now (IETF RateLimit-Reset)
    return None
