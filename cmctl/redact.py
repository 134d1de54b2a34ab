"""Secrets out of every message: the one place that knows what a secret looks like in text.

A secret reaches a message in more shapes than its own: escaped by a JSON encoder
(``\\/``, ``\\"``, ``\\u00e9``, escaped twice by a server that wraps an error in
another), percent-encoded in a URL, as a Python repr (``\\n``, ``\\xe9``), HTML
entities, base64 (a ``Basic`` header a server echoes), in a URL's userinfo, or cut
short by a server that truncates what it echoes. ``Redactor`` finds all of these,
character by character, and replaces each whole span with ``***``.

Policy for short secrets: cmctl refuses a declared secret shorter than
``MIN_SECRET_LENGTH`` characters when it resolves it (cmctl/config.py), because no
real token, app password or signing secret is that short and a 3-character secret
cannot be redacted without mangling every message ("401" holds "01"). A short value
that still gets here (a URL fragment, a third-party adapter's own) is redacted where
it stands as a whole token, never as a substring of a longer word.

``remember`` / ``scrub``: a process-wide registry of every secret cmctl resolved,
for the last line of defence (what is written to the ledger, what is printed).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

REDACTED = "***"
MIN_SECRET_LENGTH = 8  # a declared secret shorter than this is refused (config.py)
_WHOLE_TOKEN_BELOW = MIN_SECRET_LENGTH  # shorter values are redacted as whole tokens only
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@?#\"'<>]+@")
_WORD = "A-Za-z0-9"
_HTML_NAMED = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;"}


def _hex(value: int, width: int) -> str:
    return f"(?i:{value:0{width}x})"


def _char_pattern(c: str) -> str:
    """Every way a text encoder may write the character ``c``."""
    code = ord(c)
    forms = [re.escape(c)]
    if not c.isalnum():  # JSON/JS/repr escape of punctuation, any number of backslashes
        forms.append(r"\\+" + re.escape(c))
    if code < 0x10000:
        forms.append(r"\\+u" + _hex(code, 4))  # JSON, JS, repr
    else:  # JSON writes astral characters as a surrogate pair
        high = 0xD800 + ((code - 0x10000) >> 10)
        low = 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(r"\\+u" + _hex(high, 4) + r"\\+u" + _hex(low, 4))
        forms.append(r"\\+U" + _hex(code, 8))
    if code < 0x100:
        forms.append(r"\\+x" + _hex(code, 2))  # repr of str and bytes
    utf8 = c.encode("utf-8")
    forms.append("".join("%" + _hex(b, 2) for b in utf8))  # percent-encoding
    if len(utf8) > 1:
        forms.append("".join(r"\\+x" + _hex(b, 2) for b in utf8))  # repr of bytes
    if c == " ":
        forms.append(r"\+")
    forms.append(f"&#(?:{code}|(?i:x0*{code:x}));")
    if c in _HTML_NAMED:
        forms.append(re.escape(_HTML_NAMED[c]))
    return "(?:" + "|".join(forms) + ")"


def _b64_forms(value: str) -> list[str]:
    raw = value.encode("utf-8")
    out = []
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        out += [text, text.rstrip("=")]
    return [o for o in dict.fromkeys(out) if len(o) >= 4]


class _Secret:
    """One secret and the patterns that find it (compiled once)."""

    def __init__(self, value: str, *, partial: bool) -> None:
        body = "".join(_char_pattern(c) for c in value)
        if len(value) < _WHOLE_TOKEN_BELOW:
            body = f"(?<![{_WORD}]){body}(?![{_WORD}])"
        forms = [body]
        if len(value) >= 4:
            forms += [re.escape(b) for b in _b64_forms(value)]
        self.pattern = re.compile("|".join(forms))
        # A server that truncates what it echoes leaves a fragment: any run of at least
        # `window` characters of the secret is redacted (only for long-enough secrets).
        self.windows: tuple[str, ...] = ()
        if partial and len(value) > MIN_SECRET_LENGTH:
            window = max(MIN_SECRET_LENGTH, min(16, len(value) // 2))
            self.windows = tuple({value[i : i + window] for i in range(len(value) - window + 1)})

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for m in self.pattern.finditer(text):
            if m.end() > m.start():
                yield m.start(), m.end()
        for window in self.windows:
            start = text.find(window)
            while start != -1:
                yield start, start + len(window)
                start = text.find(window, start + 1)


class Redactor:
    """The secrets of one scope (an account's HTTP client, the process), and their removal."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, _Secret] = {}
        for secret in secrets:
            self.add(secret)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def add(self, secret: str | None, *, partial: bool = True) -> None:
        """Register ``secret`` (and its surrounding-whitespace-free form)."""
        if not secret:
            return
        for value in dict.fromkeys((secret, secret.strip())):
            if value and value not in self._secrets:
                compiled = _Secret(value, partial=partial)
                with self._lock:
                    self._secrets[value] = compiled

    def add_url(self, url: str) -> None:
        """Register the credentials a URL carries in its userinfo (and as a Basic header)."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return
        if "@" not in parts.netloc:
            return
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        for value in (userinfo, unquote(userinfo), unquote(user) + ":" + unquote(password)):
            self.add(value)
        self.add(unquote(password) if password else unquote(user))

    def __call__(self, text: str) -> str:
        """``text`` with every secret, in every shape it may take, replaced by ``***``."""
        if not text:
            return text
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
        with self._lock:
            secrets = list(self._secrets.values())
        spans = sorted(span for secret in secrets for span in secret.spans(text))
        if not spans:
            return text
        merged: list[list[int]] = []
        for start, stop in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        pieces = []
        position = 0
        for start, stop in merged:
            pieces += [text[position:start], REDACTED]
            position = stop
        pieces.append(text[position:])
        return "".join(pieces)

    def truncate(self, text: str, limit: int) -> str:
        """Redact, then cut to ``limit`` characters: never cut a secret before redacting."""
        text = self(text)
        return text if len(text) <= limit else text[:limit] + "…"


_process = Redactor()


def remember(secret: str | None, *, partial: bool = True) -> None:
    """Register a secret this process resolved, for ``scrub``."""
    _process.add(secret, partial=partial)


def scrub(text: str | None) -> str | None:
    """The last line of defence: every secret this process has seen, removed from ``text``."""
    return _process(text) if text else text


def process_redactor() -> Redactor:
    return _process
