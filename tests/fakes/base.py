"""A local HTTP server that fakes one network's API, for contract and end-to-end tests.

``FakeServer`` owns the plumbing every fake shares; a subclass only implements
``route(request) -> Reply``:

- stdlib only: a ``ThreadingHTTPServer`` bound to ``127.0.0.1`` port 0, served from a
  daemon thread, HTTP/1.1 with keep-alive (httpx pools connections like it would
  against the real service);
- ``url``: ``http://127.0.0.1:PORT``;
- ``requests``: a thread-safe log of every request received (method, path, query,
  headers with lowercase names, raw body, parsed JSON or ``None``, ``received_at``);
- ``latency``: seconds to wait before answering every request (benchmarks);
- fault injection: ``fail_next`` (answer an error, optionally *after* processing the
  request normally, i.e. a 5xx after the network committed) and ``hang_next``
  (process, then sit on the answer so the client times out after the commit), and
  ``fail_randomly`` (either of those on a random share of the requests, from a seed:
  chaos runs);
- a clock of its own (``now()``), real UTC time plus an offset tests move with
  ``advance_clock`` (``time_machine`` freezing the process clock moves it too);
- ``stop()`` returns in well under a second even while a handler hangs: the sleeps
  wait on an event ``stop()`` sets, open keep-alive connections are shut down, and
  handler threads are joined.

``route`` runs under one lock, so a fake's state needs no locking of its own.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeServer", "Fault", "FormPart", "RecordedRequest", "Reply", "parse_form"]

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lowercase names
    body: bytes
    json: Any | None
    received_at: datetime  # aware, UTC, on the fake's clock

    def param(self, name: str) -> str | None:
        """First value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def content_type(self) -> str:
        """Media type of the body, lowercase, without parameters ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(slots=True)
class Reply:
    """What ``route`` answers: a status, a body (JSON-encoded unless str/bytes) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str | None]:
        if self.body is None:
            return b"", None
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8"), JSON_TYPE


@dataclass(slots=True)
class Fault:
    """An injected misbehaviour for the next ``times`` requests whose path ends with ``path``."""

    path: str
    times: int
    commit: bool
    reply: Reply | None = None  # fail_next: answer this instead
    hang: float = 0.0  # hang_next: wait this long before answering

    def matches(self, path: str) -> bool:
        return self.times > 0 and path.endswith(self.path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # FakeServer.stop() joins the handler threads with a deadline
    allow_reuse_address = True
    fake: FakeServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "FakeServer/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every answer
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _dispatch(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch


class FakeServer:
    """Base class of the fakes; see the module docstring."""

    #: Name used in thread names and reprs.
    name: ClassVar[str] = "fake"

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.clock_offset = timedelta(0)
        self._lock = threading.RLock()  # guards the fake's state; route() runs under it
        self._log_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._random_faults: list[tuple[Fault, float, random.Random]] = []
        self.random_faults_served = 0  # how many requests fail_randomly misbehaved on
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._conn_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes latency waits and hangs
        server.shutdown()  # stops accepting; returns within one poll interval
        with self._conn_lock:
            connections = list(self._connections)
            handlers = list(self._handler_threads)
        for conn in connections:  # idle keep-alive readers get EOF and exit
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        deadline = time.monotonic() + 0.5
        for worker in [thread, *handlers]:
            if worker is not None and worker is not threading.current_thread():
                worker.join(timeout=max(0.0, deadline - time.monotonic()))
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<{type(self).__name__} {where}>"

    # -- clock -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The fake's current time: real UTC time (as frozen or moved) plus clock_offset."""
        return datetime.now(UTC) + self.clock_offset

    def advance_clock(self, delta: timedelta | float) -> None:
        """Move the fake's clock forward (seconds or a timedelta)."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self.clock_offset += delta

    # -- request log -----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._log_lock:
            return list(self._requests)

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        """The requests whose path ends with ``path_suffix`` (and of ``method`` if given)."""
        return [
            r
            for r in self.requests
            if r.path.endswith(path_suffix) and (method is None or r.method == method.upper())
        ]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    # -- fault injection -------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        status: int,
        body: Mapping[str, Any] | str | None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        commit: bool = False,
    ) -> None:
        """Answer ``status``/``body`` to the next ``times`` requests whose path ends with ``path``.

        With ``commit=True`` each such request is first processed normally (a post is
        stored, a key remembered) and the failure is returned instead of the real
        answer: the "5xx after commit" case. A fake may add the headers its network
        sends with that status (rate-limit headers on a 429) unless given here.
        """
        reply_body: Any = dict(body) if isinstance(body, Mapping) else body
        merged = {**self.fault_headers(status), **dict(headers or {})}
        reply = Reply(status, reply_body, merged)
        fault = Fault(path=path, times=times, commit=commit, reply=reply)
        with self._lock:
            self._faults.append(fault)

    def hang_next(self, path: str, seconds: float, commit: bool = True, times: int = 1) -> None:
        """Wait ``seconds`` before answering the next ``times`` requests ending with ``path``.

        With ``commit=True`` (the default) the request is processed first, so a client
        that times out leaves the post stored; the real answer is sent after the wait
        if the client is still there. With ``commit=False`` the request is never
        processed: after the wait the fake answers 504 (as a gateway in front of a
        stuck server would).
        """
        with self._lock:
            self._faults.append(Fault(path=path, times=times, commit=commit, hang=seconds))

    def fail_randomly(
        self,
        path: str,
        probability: float,
        status: int = 500,
        body: Mapping[str, Any] | str | None = None,
        *,
        hang: float = 0.0,
        commit: bool = True,
        seed: int | None = None,
        times: int | None = None,
    ) -> None:
        """Misbehave on a random share (``probability``) of the requests ending with ``path``,
        until ``clear_faults()``: answer ``status``/``body``, or with ``hang`` > 0 sit on the
        answer that long (as ``hang_next``). ``commit=True`` (the default) processes each
        such request first: the ambiguous "the post exists, the answer says otherwise".
        Draws come from ``random.Random(seed)``; ``times`` caps how many requests misbehave
        in all (None: no cap). One-shot faults (``fail_next``, ``hang_next``) are served
        first.
        """
        budget = times if times is not None else 2**62
        if hang > 0:
            fault = Fault(path=path, times=budget, commit=commit, hang=hang)
        else:
            reply_body: Any = dict(body) if isinstance(body, Mapping) else body
            reply = Reply(status, reply_body, self.fault_headers(status))
            fault = Fault(path=path, times=budget, commit=commit, reply=reply)
        with self._lock:
            self._random_faults.append((fault, probability, random.Random(seed)))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._random_faults.clear()

    def fault_headers(self, status: int) -> dict[str, str]:
        """Headers the network adds to an error of ``status`` (subclasses override)."""
        return {}

    # -- for subclasses --------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        """Answer one request. Runs under the fake's lock."""
        raise NotImplementedError

    def decorate(self, request: RecordedRequest, reply: Reply) -> None:
        """Add headers every answer carries (rate limits...). Runs under the lock."""

    # -- internals -------------------------------------------------------------------

    def _opened(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.add(conn)
            self._handler_threads.add(threading.current_thread())

    def _closed(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.discard(conn)
            self._handler_threads.discard(threading.current_thread())

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        for template, probability, rng in self._random_faults:
            if template.matches(path) and rng.random() < probability:
                template.times -= 1
                self.random_faults_served += 1
                reply = template.reply
                return Fault(
                    template.path,
                    1,
                    template.commit,
                    hang=template.hang,
                    reply=None
                    if reply is None
                    else Reply(reply.status, reply.body, dict(reply.headers)),
                )
        return None

    def _serve(self, handler: _Handler) -> None:
        try:
            request = self._receive(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        with self._log_lock:
            self._requests.append(request)
        if self.latency > 0 and self._stopping.wait(self.latency):
            handler.close_connection = True
            return
        with self._lock:
            fault = self._take_fault(request.path)
        if fault is not None and fault.hang > 0:
            if fault.commit:
                reply = self._answer(request)
            else:
                reply = Reply(HTTPStatus.GATEWAY_TIMEOUT, {"error": "Gateway Timeout"})
            if self._stopping.wait(fault.hang):
                handler.close_connection = True
                return
        elif fault is not None and fault.reply is not None:
            if fault.commit:
                self._answer(request)
            reply = Reply(fault.reply.status, fault.reply.body, dict(fault.reply.headers))
            with self._lock:
                self.decorate(request, reply)
        else:
            reply = self._answer(request)
        self._respond(handler, request, reply)

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            try:
                reply = self.route(request)
            except Exception as exc:  # a bug in the fake: say so loudly, like a 500
                reply = Reply(500, {"error": f"fake crashed: {type(exc).__name__}: {exc}"})
            self.decorate(request, reply)
        return reply

    def _receive(self, handler: _Handler) -> RecordedRequest:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b"".join(_read_chunks(handler))
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = handler.rfile.read(length) if length > 0 else b""
        parts = urlsplit(handler.path)
        parsed: Any | None = None
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if body and (ctype == "application/json" or ctype.endswith("+json")):
            try:
                parsed = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed = None
        return RecordedRequest(
            method=handler.command.upper(),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            json=parsed,
            received_at=self.now(),
        )

    def _respond(self, handler: _Handler, request: RecordedRequest, reply: Reply) -> None:
        payload, ctype = reply.encode()
        headers = {k.lower(): v for k, v in reply.headers.items()}
        try:
            handler.send_response(int(reply.status))
            if ctype is not None and "content-type" not in headers:
                handler.send_header("Content-Type", ctype)
            for name, value in reply.headers.items():
                if name.lower() not in ("content-length", "connection"):
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            if self._stopping.is_set():
                handler.send_header("Connection", "close")
                handler.close_connection = True
            handler.end_headers()
            if request.method != "HEAD" and payload:
                handler.wfile.write(payload)
            handler.wfile.flush()
        except OSError:  # the client gave up (timeout) or we are stopping
            handler.close_connection = True


@dataclass(frozen=True, slots=True)
class FormPart:
    """One field of a form body: ``text`` for plain fields, ``data`` always (raw bytes)."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def parse_form(request: RecordedRequest) -> dict[str, list[FormPart]]:
    """Fields of an ``application/x-www-form-urlencoded`` or ``multipart/form-data`` body."""
    fields: dict[str, list[FormPart]] = {}
    if request.content_type == "application/x-www-form-urlencoded":
        text = request.body.decode("utf-8", "replace")
        for name, values in parse_qs(text, keep_blank_values=True).items():
            for value in values:
                fields.setdefault(name, []).append(FormPart(name, value.encode("utf-8")))
        return fields
    if request.content_type != "multipart/form-data":
        return fields
    boundary = _header_param(request.headers.get("content-type", ""), "boundary")
    if not boundary:
        return fields
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in request.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        part_headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            part_headers[key.strip().lower()] = value.strip()
        disposition = part_headers.get("content-disposition", "")
        name = _header_param(disposition, "name")
        if name is None:
            continue
        fields.setdefault(name, []).append(
            FormPart(
                name=name,
                data=data,
                filename=_header_param(disposition, "filename"),
                content_type=part_headers.get("content-type"),
            )
        )
    return fields


def _header_param(header: str, key: str) -> str | None:
    for piece in header.split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.strip().lower() == key:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"')
            return value
    return None


def _read_chunks(handler: _Handler) -> Iterator[bytes]:
    while True:
        line = handler.rfile.readline(65537)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            return
        yield handler.rfile.read(size)
        handler.rfile.readline(65537)  # CRLF after the chunk
