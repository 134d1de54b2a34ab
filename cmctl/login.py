"""`cmctl accounts login NAME`: a network's OAuth 2.0 authorization-code login, end to end.

The network declares how its login goes (``oauth``, cmctl/networks/oauth.py) and its
adapter builds the browser's address and exchanges the code; this module does what is
the same for every network (RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3 loopback redirects):

1. check the account names its app (``client_id``, and ``client_secret`` when the
   network requires one);
2. listen on the loopback ``redirect_uri`` (default ``DEFAULT_REDIRECT_URI``) BEFORE
   the address is shown, so the browser's answer cannot arrive first;
3. hand the authorization URL (with a fresh ``state`` and, where the network uses
   PKCE, an S256 challenge) to ``show``, then to the browser when there is one;
4. wait for the answer: the browser coming back to the listener, or (``--no-browser``,
   a server over SSH) the full address it was sent to, pasted on stdin. Whichever
   comes first wins. Its ``state`` must be this login's, or nothing is exchanged;
5. exchange the code, and save the credential in the store (under its lock,
   replacing whatever was stored), never in cmctl.yaml or the ledger;
6. ask the network who logged in (the adapter's ``check``).

The code, the verifier, the tokens and the client secret are never shown: only the
authorization URL, which holds none of them. Nothing here prints; the CLI renders.
"""

from __future__ import annotations

import contextlib
import errno
import html
import os
import queue
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cmctl.errors import CmctlError, ConfigError, UsageError

if TYPE_CHECKING:
    from cmctl.config import Config
    from cmctl.networks.base import Network
    from cmctl.networks.credentials import Credential

DEFAULT_TIMEOUT = 300.0  # seconds a login waits for the browser's answer
LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "::1": "::1", "localhost": "127.0.0.1"}
# Set to any non-empty value: cmctl never opens a browser (CI, tests, headless hosts).
NO_BROWSER_ENV = "CMCTL_NO_BROWSER"


class LoginFailed(CmctlError):
    """The login did not complete (refused, wrong state, timed out): exit 2."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class LoginResult:
    account: str
    title: str  # the network, as humans write it
    who: str | None  # what the network's check says (None: the check failed)
    check_error: str | None
    credential: Credential

    @property
    def expires_at(self) -> datetime | None:
        """When a human must log in again (None: never, or the login renews itself)."""
        return self.credential.lasts_until

    @property
    def renews_itself(self) -> bool:
        return self.credential.refresh is not None and self.credential.lasts_until is None


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back from the browser step (RFC 6749 §4.1.2), by either road."""

    code: str | None
    error: str | None
    description: str | None
    state_ok: bool
    via: str  # "browser" or "paste"


# --------------------------------------------------------------------------- the flow
def login(
    config: Config,
    name: str,
    *,
    show: Callable[[str], None],
    say: Callable[[str], None],
    browser: Callable[[str], bool] | None,
    paste: IO[str] | None,
    timeout: float = DEFAULT_TIMEOUT,
    transport: Any = None,
) -> LoginResult:
    """Log account ``name`` in; return who logged in and until when.

    ``show`` gets the authorization URL (the CLI prints it alone on a line of stdout),
    ``say`` the words for the human (stderr). ``browser`` opens a URL and says whether
    it could (None: never open one). ``paste``: a stream the address the browser was
    sent to may be pasted on (``--no-browser``), read alongside the listener."""
    from cmctl.binding import bind
    from cmctl.networks import oauth, registry

    account = config.accounts.get(name)
    if account is None:
        raise UsageError(
            f"unknown account '{name}'",
            hint="known: " + ", ".join(sorted(config.accounts)) if config.accounts else None,
        )
    network = registry.get(account.network)
    app = network.oauth
    if app is None:
        raise UsageError(
            f"account '{name}' ({network.title}) does not log in: "
            "its credentials are in cmctl.yaml",
            hint=f"`cmctl accounts check {name}` proves them",
        )
    missing = [key for key in _app_keys(app.secret_required) if not account.options.get(key)]
    if missing:
        keys = " and ".join(missing)
        raise ConfigError(
            f"account '{name}' ({network.title}) sets no {keys}: cmctl needs the app "
            f"registered with {network.title} to log in",
            hint=f"add {', '.join(f'{k}: ...' for k in missing)} to the account in "
            f"{config.display_path} (secrets as ${{VARIABLE}}), from the app's settings in "
            f"{network.title}'s developer portal",
        )
    adapter = bind(config, account, transport=transport)
    try:
        redirect_uri = str(adapter.options.get("redirect_uri") or "").strip()
        redirect_uri = redirect_uri or oauth.DEFAULT_REDIRECT_URI
        listen = loopback_address(redirect_uri)
        if listen is None and paste is None:
            raise ConfigError(
                f"account '{name}': redirect_uri {redirect_uri} is not a loopback address "
                "cmctl can listen on",
                hint="use http://127.0.0.1:PORT/PATH (also registered with the app), or "
                f"run `cmctl accounts login {name} --no-browser` and paste the address "
                "the browser was sent to",
            )
        state = oauth.new_state()
        verifier, challenge = oauth.pkce_pair() if app.pkce else (None, None)
        answers: queue.Queue[Answer] = queue.Queue()
        with _listening(name, redirect_uri, listen, state, answers):
            url = adapter.authorization_url(state, challenge, redirect_uri)
            show(url)
            opened = browser(url) if browser is not None else False
            if paste is not None:
                say(
                    "Open this address in a browser, log in, then paste here the whole "
                    "address the browser was sent to (it starts with "
                    f"{redirect_uri}):"
                )
                _read_pasted(paste, state, answers, say)
            elif not opened:
                say(f"Open this address in a browser to log in to {network.title}.")
            else:
                say(f"Log in to {network.title} in the browser that opened.")
            try:
                answer = answers.get(timeout=timeout)
            except queue.Empty:
                raise LoginFailed(
                    f"account '{name}': no answer from the browser within {timeout:g} s; "
                    "nothing was saved",
                    hint=f"run `cmctl accounts login {name}` again"
                    + ("" if paste is not None else " (--no-browser to paste the address)"),
                ) from None
        credential = _exchange(adapter, name, network.title, answer, verifier, redirect_uri)
        saved = _save(config, adapter.options, name, credential)
        who: str | None = None
        check_error: str | None = None
        try:
            who = adapter.http.redact(adapter.check())
        except Exception as exc:
            check_error = adapter.http.redact(str(getattr(exc, "message", exc)))
        return LoginResult(name, network.title, who, check_error, saved)
    finally:
        adapter.close()


def summary(result: LoginResult, now: datetime) -> list[str]:
    """What `cmctl accounts login` prints once logged in: who, and until when."""
    name = result.account
    who = f" as {result.who}" if result.who else ""
    lines = [f"account '{name}' logged in to {result.title}{who}"]
    until = result.expires_at
    if until is not None:
        left = until - now
        span = f"{left.days} day{'s' if left.days != 1 else ''}" if left.days else "less than a day"
        lines.append(
            f"the login expires on {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC (in {span}): "
            f"log in again before then with `cmctl accounts login {name}`"
        )
    elif result.renews_itself:
        lines.append("the login renews itself: cmctl refreshes its tokens before they expire")
    else:
        lines.append("the login does not expire")
    return lines


def _app_keys(secret_required: bool) -> tuple[str, ...]:
    return ("client_id", "client_secret") if secret_required else ("client_id",)


def _exchange(
    adapter: Network,
    name: str,
    title: str,
    answer: Answer,
    verifier: str | None,
    redirect_uri: str,
) -> Credential:
    from cmctl.networks.base import SendError

    if not answer.state_ok:
        raise LoginFailed(
            f"account '{name}': the answer {'pasted' if answer.via == 'paste' else 'received'} "
            "is not for the login cmctl started (its state does not match); refused, "
            "nothing was exchanged",
            hint=f"run `cmctl accounts login {name}` again and use the address it prints",
        )
    if answer.code is None:
        said = ": ".join(p for p in (answer.error, answer.description) if p) or "no code"
        raise LoginFailed(
            f"account '{name}': {title} did not grant the login ({said})",
            hint=f"run `cmctl accounts login {name}` again and allow the app",
        )
    adapter.http.add_secret(answer.code)
    adapter.http.add_secret(verifier)
    try:
        return adapter.exchange_code(answer.code, verifier, redirect_uri)
    except SendError as exc:
        raise LoginFailed(
            adapter.http.redact(f"account '{name}': {title} did not exchange the code: {exc}"),
            hint=f"run `cmctl accounts login {name}` again",
        ) from None


def _save(
    config: Config, options: Mapping[str, Any], name: str, credential: Credential
) -> Credential:
    """Store ``credential`` for ``name``, replacing whatever was stored, under the lock.

    When the account seeds tokens from cmctl.yaml, the login is marked with their
    digest: it wins over them until the seeded values change (as a rotated token does)."""
    from cmctl.networks.credentials import CredentialStore
    from cmctl.networks.oauth import seed_digest

    digest = seed_digest(options)
    if digest is not None:
        credential = replace(credential, extra={**credential.extra, "seed": digest})
    store = CredentialStore(config.state_dir)
    with store.lock():
        current = store.get(name)
        return store.save(name, replace(credential, version=current.version if current else 0))


# ----------------------------------------------------------------------- the answers
def read_answer(query: Mapping[str, list[str]], state: str, via: str) -> Answer | None:
    """The browser step's answer in a redirect's query, or None when it holds none
    (a stray request). ``state`` is compared in constant time."""
    import hmac

    def one(key: str) -> str | None:
        values = query.get(key)
        return values[0] if values else None

    code, error = one("code"), one("error")
    if code is None and error is None:
        return None
    got = one("state") or ""
    state_ok = hmac.compare_digest(got.encode("utf-8"), state.encode("utf-8"))
    return Answer(
        code=code or None,
        error=_clean(error),
        description=_clean(one("error_description")),
        state_ok=state_ok,
        via=via,
    )


def _clean(text: str | None) -> str | None:
    """The network's words, printable and short (they are shown to the user)."""
    if text is None:
        return None
    return "".join(c if c.isprintable() else " " for c in text).strip()[:300] or None


def _read_pasted(
    stream: IO[str], state: str, answers: queue.Queue[Answer], say: Callable[[str], None]
) -> None:
    """Read pasted addresses from ``stream`` in a daemon thread until one is an answer."""

    def reader() -> None:
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                return
            if not line:
                return  # end of input: the listener may still get the answer
            text = line.strip()
            if not text:
                continue
            query = urlsplit(text).query if "?" in text else text.lstrip("?#")
            answer = read_answer(parse_qs(query), state, "paste")
            if answer is None:
                say(
                    "That is not the address the browser was sent to (it has no code): "
                    "paste the whole address from the browser's address bar."
                )
                continue
            answers.put(answer)
            return

    threading.Thread(target=reader, name="cmctl-login-paste", daemon=True).start()


# ----------------------------------------------------------------------- the listener
def loopback_address(redirect_uri: str) -> tuple[str, int, str] | None:
    """(host to bind, port, path) of a loopback http redirect URI, else None."""
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme != "http" or parts.username is not None or parts.hostname is None:
        return None
    bind = LOOPBACK_HOSTS.get(parts.hostname.lower())
    if bind is None:
        return None
    return bind, port, parts.path or "/"


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>cmctl</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>
"""


@contextlib.contextmanager
def _listening(
    name: str,
    redirect_uri: str,
    listen: tuple[str, int, str] | None,
    state: str,
    answers: queue.Queue[Answer],
) -> Any:
    """Serve the redirect URI on loopback while the block runs (nothing when ``listen``
    is None: the answer can only be pasted)."""
    if listen is None:
        yield
        return
    host, port, path = listen

    class Handler(BaseHTTPRequestHandler):
        server_version = "cmctl"
        sys_version = ""
        timeout = 10  # a connection that sends nothing (a browser's preconnect) is dropped

        def log_message(self, format: str, *args: Any) -> None:  # never log the code
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            answer = read_answer(parse_qs(parts.query), state, "browser")
            if parts.path != path or answer is None:  # a favicon, a stray request
                self._page(404, "Not found", "This address is cmctl's login listener.")
                return
            if not answer.state_ok:
                self._page(
                    400,
                    "Login refused",
                    "This answer is not for the login cmctl started. Nothing was done.",
                )
            elif answer.code is None:
                self._page(
                    200,
                    "Login not granted",
                    f"{answer.error or 'refused'}. You can close this tab.",
                )
            else:
                self._page(200, "Logged in", "cmctl got the answer. You can close this tab.")
            answers.put(answer)

        def _page(self, status: int, title: str, text: str) -> None:
            body = PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        # Linux: bind again over the last login's TIME_WAIT connections (a listener
        # still refuses it); Windows' SO_REUSEADDR would share a busy port: never there.
        allow_reuse_address = sys.platform != "win32"
        allow_reuse_port = False
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    try:
        server = Server((host, port), Handler)
    except OSError as exc:
        in_use = exc.errno in (errno.EADDRINUSE, errno.EACCES)
        why = (
            f"port {port} is in use (another login, or another program)"
            if exc.errno == errno.EADDRINUSE
            else exc.strerror or "cannot listen"
        )
        raise ConfigError(
            f"account '{name}': cannot listen on {redirect_uri} for the browser's answer: {why}",
            hint=(
                "stop what uses it, or set another port in the account's redirect_uri, "
                "e.g. `redirect_uri: http://127.0.0.1:8766/callback`, and register that "
                "exact address with the app"
                if in_use
                else "set the account's redirect_uri to http://127.0.0.1:PORT/callback"
            ),
        ) from None
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.name = "cmctl-login-listener"
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------- the browser
def system_browser() -> Callable[[str], bool] | None:
    """The browser opener, or None where there is none to open (``CMCTL_NO_BROWSER``
    set, or a Linux/BSD session without a display: a text browser would take the
    terminal the URL is printed on)."""
    if os.environ.get(NO_BROWSER_ENV):
        return None
    if (
        sys.platform not in ("darwin", "win32")
        and not os.environ.get("BROWSER")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    ):
        return None

    def open_url(url: str) -> bool:
        import webbrowser

        try:
            return webbrowser.open(url, new=2)
        except webbrowser.Error:
            return False

    return open_url
