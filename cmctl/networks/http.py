"""HTTP for adapters: one httpx client, failures mapped to typed errors, secrets redacted.

The mapping is the heart of "never post twice": a failure that may have happened
*after* the network stored the post (a read timeout, a 500/502/504 to a create
request) is ``Ambiguous``. Whether resending is then safe is not decided here but by
the publisher, from the network's declared idempotency and the time of the first
attempt that may have reached it.

Answers that are errors in disguise (a 200 with ``"ok": false``, a delay in the JSON
body, an expired token named by an error code, usage headers near the limit) are read
through the network's declared ``Answers`` (cmctl/networks/answers.py), on every
answer, the 2xx ones too.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from cmctl import __version__, clock
from cmctl.networks.answers import MAX_WAIT, Answers, Reading
from cmctl.networks.errors import Ambiguous, AuthExpired, Permanent, SendError, Transient
from cmctl.redact import REDACTED, Redactor, process_redactor, remember

__all__ = ["REDACTED", "Http", "error_message", "retry_after"]

USER_AGENT = f"cmctl/{__version__} (+https://github.com/cmctl/cmctl)"
MAX_SAID = 300  # characters of a network's error message kept (after redaction)

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
    def __init__(
        self,
        *,
        secrets: Iterable[str] = (),
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        answers: Answers | None = None,
    ) -> None:
        timeout = timeout if timeout is not None else default_timeout()
        # How the network's answers say "no" or "slow down" (Network.answers): the
        # adapter's base class sets it when it binds this client.
        self.answers = answers
        # Usage headers said the limit is (nearly) reached: no call before this moment.
        self._quiet_until: datetime | None = None
        self._quiet_said = ""
        self._redactor = Redactor()
        self._own_transport = transport is not None
        for secret in secrets:
            self.add_secret(secret)
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            transport=transport,
            verify=ssl_context(),
        )

    def add_secret(self, value: str | None, *, partial: bool = True) -> None:
        """Redact ``value`` (in every encoding, see cmctl/redact.py) from every message."""
        if value:
            self._redactor.add(value, partial=partial)
            remember(value, partial=partial)

    def add_url(self, url: str) -> None:
        """Redact the credentials of a URL's userinfo (user:pass@), and their Basic form."""
        self._redactor.add_url(url)
        process_redactor().add_url(url)

    def redact(self, text: str) -> str:
        """``text`` without this client's secrets, nor any other this process resolved."""
        return process_redactor()(self._redactor(text))

    def error_message(self, response: httpx.Response) -> str:
        """The network's own words about an error, redacted, then cut to 300 characters."""
        return error_message(response, self.redact)

    def reach(self, url: str) -> str:
        """Open (and close) a TCP connection to the URL's host, with a TLS handshake for
        https: DNS, routing and the certificate are checked, and no HTTP request is
        sent, so a receiver has nothing to act on. Returns what was proved; raises
        Transient (unreachable) or Permanent (a certificate that does not verify).

        Not attempted when a proxy is configured (the connection would not be the one
        cmctl uses) or when this client was given its own transport (tests)."""
        import socket
        import urllib.request

        parts = urlsplit(url)
        host = parts.hostname or ""
        secure = parts.scheme == "https"
        try:
            port = parts.port or (443 if secure else 80)
        except ValueError:
            raise Permanent(self.redact(f"{_path(url)}: the port is not a number")) from None
        where = f"{host}:{port}"
        if self._own_transport:
            return f"{where} not probed (custom transport)"
        proxies = urllib.request.getproxies_environment()
        if parts.scheme in proxies or "all" in proxies:
            return f"{where} not probed (a proxy is configured)"
        timeout = min(10.0, default_timeout())
        try:
            with socket.create_connection((host, port), timeout=timeout) as raw:
                if secure:
                    with ssl_context().wrap_socket(raw, server_hostname=host):
                        pass
        except ssl.SSLCertVerificationError as exc:
            raise Permanent(
                self.redact(f"{where}: the TLS certificate does not verify ({exc.verify_message})")
            ) from None
        except (OSError, UnicodeError) as exc:
            raise Transient(
                self.redact(
                    f"{where}: cannot connect ({type(exc).__name__}: {exc.strerror or exc})"
                    if isinstance(exc, OSError)
                    else f"{where}: not a valid host name"
                )
            ) from None
        return f"{where} reachable" + (" (TLS certificate verified)" if secure else " (plain HTTP)")

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
        self.add_url(url)
        where = f"{method} {_path(url)}"
        risky = creates
        self._check_quiet(where)
        try:
            response = self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient(self.redact(f"{where}: cannot connect ({_reason(exc)})")) from None
        except httpx.LocalProtocolError as exc:  # its text quotes the header: never show it
            raise Permanent(
                self.redact(
                    f"{where}: {_reason(exc)}: a header or the URL holds a character HTTP does "
                    "not allow (a newline or control character in a token or URL?)"
                )
            ) from None
        except (
            httpx.UnsupportedProtocol,
            httpx.ProxyError,
            httpx.InvalidURL,
            httpx.CookieConflict,
        ) as exc:  # refused before anything was sent
            raise Permanent(self.redact(f"{where}: {_reason(exc)}: {exc}")) from None
        except UnicodeEncodeError as exc:  # a non-ASCII header value: nothing was sent
            raise Permanent(
                self.redact(
                    f"{where}: {_reason(exc)}: a header cannot be sent as it is "
                    "(a non-ASCII character in a token?)"
                )
            ) from None
        except httpx.TransportError as exc:  # sent, but no (complete) answer
            message = self.redact(f"{where}: no answer after sending ({_reason(exc)})")
            if risky:
                raise Ambiguous(message + "; the network may have published it") from None
            raise Transient(message) from None
        reading = self._read(response)
        if response.is_success:
            if reading.verdict is not None:
                raise self._disguised(where, response, reading, risky)
            return response
        if classify is not None:
            problem = classify(response)
            if problem is not None:
                problem.message = self.redact(problem.message)
                problem.args = (problem.message,)
                raise problem
        if reading.verdict is not None:
            raise self._disguised(where, response, reading, risky)
        status = response.status_code
        said = reading.said or self.error_message(response)
        message = self.redact(f"{where}: {status} {said}")
        if status == 429 or status == 503:
            raise Transient(message, _longest(retry_after(response), reading))
        if status >= 500:
            if risky:
                raise Ambiguous(message + "; the network may have published it")
            raise Transient(message, _longest(retry_after(response), reading))
        if status == 408:
            if risky:
                raise Ambiguous(message)
            raise Transient(message)
        raise Permanent(message)

    # ------------------------------------------------------ errors in disguise
    def _read(self, response: httpx.Response) -> Reading:
        """The answer read through the declared ``Answers``; remembers usage limits."""
        if self.answers is None:
            return Reading()
        reading = self.answers.read(response.status_code, response.headers, response.content)
        if reading.usage_wait is not None:
            until = clock.now() + timedelta(seconds=reading.usage_wait)
            if self._quiet_until is None or until > self._quiet_until:
                self._quiet_until = until
                self._quiet_said = reading.usage_said
        return reading

    def _check_quiet(self, where: str) -> None:
        """Refuse to call while usage headers said the limit is reached (nothing sent)."""
        if self._quiet_until is None:
            return
        left = (self._quiet_until - clock.now()).total_seconds()
        if left <= 0:
            self._quiet_until = None
            return
        raise Transient(
            self.redact(
                f"{where}: not sent: the network's usage limit is nearly reached "
                f"({self._quiet_said}); calls resume in {_duration(left)}"
            ),
            left,
        )

    def _disguised(
        self, where: str, response: httpx.Response, reading: Reading, risky: bool
    ) -> SendError:
        """The typed error for what the body (or a usage header) says."""
        said = reading.said or self.error_message(response)
        message = self.redact(f"{where}: {response.status_code} {said}")
        if reading.verdict == "expired":
            return AuthExpired(message + " (the token was revoked or has expired)")
        if reading.verdict == "maybe":
            if risky:
                return Ambiguous(message + "; the network may have published it")
            return Transient(message, _longest(retry_after(response), reading))
        if reading.verdict == "later":
            # a 5xx may come after the post was stored (503: the service turned it away)
            if risky and response.status_code >= 500 and response.status_code != 503:
                return Ambiguous(message + "; the network may have published it")
            return Transient(message, _longest(retry_after(response), reading))
        return Permanent(message)


def _longest(header: float | None, reading: Reading) -> float | None:
    """The longest delay of the headers, the body and the usage headers, capped."""
    waits = [w for w in (header, reading.retry_after, reading.usage_wait) if w is not None]
    return min(max(waits), MAX_WAIT) if waits else None


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def _path(url: str) -> str:
    """The URL without userinfo nor query string (where tokens sometimes hide)."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return REDACTED
    return f"{parts.scheme}://{host}{parts.path}" if host else parts.path


def _reason(exc: Exception) -> str:
    return type(exc).__name__


def error_message(response: httpx.Response, redact: Callable[[str], str] | None = None) -> str:
    """The network's own words: `error`, `message`, `error_description`, or the text.

    Redacted by ``redact`` *before* it is cut to 300 characters: a secret the network
    echoes must not survive as a fragment that no longer matches it.
    """
    clean = redact or (lambda text: text)
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        try:
            text = response.text.strip()
        except (UnicodeDecodeError, LookupError):
            text = ""
        said = clean(text) if text else response.reason_phrase
    else:
        said = ""
        if isinstance(body, dict):
            parts = [
                str(body[k])
                for k in ("error", "message", "error_description", "detail")
                if isinstance(body.get(k), (str, int)) and body.get(k) != ""
            ]
            details = body.get("details")
            if isinstance(details, dict):
                parts += [f"{k}: {v}" for k, v in details.items()][:3]
            said = clean(": ".join(dict.fromkeys(parts)))
        if not said:
            said = clean(json.dumps(body))
    return said if len(said) <= MAX_SAID else said[:MAX_SAID] + "…"


MAX_RETRY_AFTER = MAX_WAIT  # seconds; anything longer (or not a number) is nonsense


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
        try:  # delta-seconds; fractions allowed ("1.5")
            return float(value)
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            return max(0.0, (moment.astimezone(UTC) - clock.now()).total_seconds())
    remaining = next(
        (
            headers[n]
            for n in ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining")
            if n in headers
        ),
        None,
    )
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
