"""The credential store: what cmctl obtains or rotates itself, kept beside the ledger.

Keys that never expire (an app password, a bot token) stay where the user wrote them,
in cmctl.yaml or ``${ENV}``. This store holds only what cmctl gets from a network and
must keep between runs: sessions, access and refresh tokens, with their expiry.

One file, ``<state folder>/credentials.json``, created with mode 0600 (never readable
by others, not even for an instant: it is written to a temporary file opened 0600,
fsynced, renamed over the old one, then the folder is fsynced). A store whose mode is
wider, or that belongs to another user, is refused with the command that fixes it
(its tokens may have been read: that is for the user to judge, not for cmctl to hide).

Concurrency: two cron runs, or the daemon and a `cmctl accounts check`, may want the
same token at once. Every change happens under an exclusive ``fcntl.flock`` on
``credentials.lock`` beside it (opened without following links, non-blocking so a FIFO
planted there cannot hang cmctl), and ``save`` is a compare-and-swap: each entry has a
version counter and a save succeeds only when the entry is still the one the caller
loaded. ``refresh`` re-reads under the lock, so of two processes racing to refresh, the
second waits, then sees the token the first saved and uses it: a rotated refresh token
is spent once, and saved before the new access token is used.

Nothing here prints; no message holds a token (the file's path holds none either).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cmctl import clock
from cmctl.errors import CmctlError, ConfigError
from cmctl.networks.errors import Permanent

STORE_NAME = "credentials.json"
LOCK_NAME = "credentials.lock"
FORMAT = 1
MAX_BYTES = 4 * 1024 * 1024
REFRESH_AHEAD = timedelta(minutes=5)
EXPIRING_WITHIN = timedelta(days=14)


class LoginRequired(CmctlError, Permanent):
    """The account's stored credential cannot be renewed: a human must log in again.

    Exit status 2 where a command meets it (`cmctl accounts check`, `cmctl status`);
    inside a send it is a ``Permanent`` send error, so the job goes ``failed`` with this
    message as its reason (after logging in, `cmctl retry` sends it). The message names
    the exact command and never a token.
    """

    exit_code = 2

    def __init__(self, account: str, why: str, *, again: bool = True) -> None:
        verb = "log in again" if again else "log in"
        super().__init__(
            f"account '{account}': {why}; {verb} with `cmctl accounts login {account}`"
        )
        self.account = account


class StoreConflict(CmctlError):
    """A compare-and-swap save lost: the entry changed since the caller loaded it."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Credential:
    """One account's credential as cmctl obtained it. Times are aware, UTC."""

    access: str
    refresh: str | None = None
    expires_at: datetime | None = None  # when ``access`` stops working (None: never)
    refresh_expires_at: datetime | None = None  # when ``refresh`` does (None: unknown/never)
    # True when cmctl gets a new one by itself once everything lapsed (a Bluesky app
    # password logs in again): such a credential never needs a human, so it is never
    # listed as expiring.
    renewable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # network-specific (did, handle...)
    version: int = 0  # 0: not saved yet; bumped by every save

    def __repr__(self) -> str:  # never show a token
        return (
            f"Credential(expires_at={_iso(self.expires_at)}, "
            f"refresh_expires_at={_iso(self.refresh_expires_at)}, version={self.version})"
        )

    def expires_within(self, ahead: timedelta, now: datetime | None = None) -> bool:
        """Does ``access`` stop working within ``ahead`` of ``now``?"""
        if self.expires_at is None:
            return False
        return self.expires_at <= (now or clock.now()) + ahead

    @property
    def lasts_until(self) -> datetime | None:
        """When a human must act: the refresh token's end, else the access token's."""
        if self.refresh is not None:
            return self.refresh_expires_at
        return self.expires_at


@dataclass(frozen=True, slots=True)
class Expiring:
    account: str
    expires_at: datetime

    def line(self, now: datetime) -> str:
        """A line for humans, e.g. "account 'x' must log in again within 3 days (...)"."""
        left = self.expires_at - now
        if left <= timedelta(0):
            when = f"expired on {self.expires_at:%Y-%m-%d %H:%M} UTC"
        else:
            days = left.days
            span = f"{days} day{'s' if days != 1 else ''}" if days else "less than a day"
            when = f"expires in {span} ({self.expires_at:%Y-%m-%d %H:%M} UTC)"
        return (
            f"the credential of account '{self.account}' {when}: "
            f"log in again with `cmctl accounts login {self.account}`"
        )


class CredentialStore:
    """The store of one state folder. Safe across threads and processes (see the module)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STORE_NAME
        self._lock_path = self.state_dir / LOCK_NAME
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------ reading
    def check(self) -> None:
        """Raise the ConfigError a use would raise (wide mode, a link, damage); create
        nothing. Adapters call it when they are made, so a bad store holds back the
        account's posts before anything is sent."""
        self._read()

    def get(self, account: str) -> Credential | None:
        """The stored credential of ``account``, or None."""
        raw = self._read().get(account)
        return _credential(raw, account, self.path) if raw is not None else None

    def all(self) -> dict[str, Credential]:
        return {name: _credential(raw, name, self.path) for name, raw in self._read().items()}

    def expiring(
        self,
        within: timedelta = EXPIRING_WITHIN,
        accounts: set[str] | None = None,
        now: datetime | None = None,
    ) -> list[Expiring]:
        """Credentials a human must renew within ``within`` (expired ones included).

        ``accounts``: only these (the accounts cmctl.yaml still declares). Never reads
        a store that is not there (status must not create one)."""
        if not os.path.lexists(self.path):
            return []
        moment = now or clock.now()
        found = []
        for name, cred in sorted(self.all().items()):
            if accounts is not None and name not in accounts:
                continue
            until = cred.lasts_until
            if cred.renewable or until is None:
                continue
            if until <= moment + within:
                found.append(Expiring(name, until))
        return found

    # ------------------------------------------------------------------ writing
    def save(self, account: str, credential: Credential) -> Credential:
        """Compare-and-swap: store ``credential`` if the entry is still at its version.

        ``credential.version`` is the version the caller loaded (0 when there was
        none). Returns the stored credential with its new version; raises
        StoreConflict when another process saved in between."""
        with self.lock():
            data = self._read()
            raw = data.get(account)
            current = _credential(raw, account, self.path).version if raw is not None else 0
            if current != credential.version:
                raise StoreConflict(
                    f"the stored credential of account '{account}' changed meanwhile "
                    f"(version {current}, expected {credential.version})"
                )
            saved = replace(credential, version=current + 1)
            data[account] = _raw(saved)
            self._write(data)
            return saved

    def delete(self, account: str) -> None:
        with self.lock():
            data = self._read()
            if data.pop(account, None) is not None:
                self._write(data)

    def refresh(
        self,
        account: str,
        fn: Callable[[Credential | None], Credential],
        *,
        ahead: timedelta = REFRESH_AHEAD,
        refused: str | None = None,
        force: bool = False,
    ) -> Credential:
        """The account's credential, renewed by ``fn`` first when it must be.

        Under the lock: re-read; when there is none, it expires within ``ahead``, or
        its access token is ``refused`` (the one a network just refused), or ``force``, call
        ``fn(current)`` and save what it returns BEFORE returning it. Whoever waited on
        the lock meanwhile re-reads and gets the new credential without calling ``fn``:
        a refresh token is spent once. ``fn`` may raise (LoginRequired, a send error):
        nothing is saved then."""
        with self.lock():
            current = self.get(account)
            if (
                not force
                and current is not None
                and not current.expires_within(ahead)
                and (refused is None or current.access != refused)
            ):
                return current
            new = fn(current)
            return self.save(account, replace(new, version=current.version if current else 0))

    # ------------------------------------------------------------------ the lock
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The store's exclusive lock (re-entrant within this instance)."""
        with self._thread_lock:
            if self._depth == 0:
                self._lock_fd = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing releases the flock
                    self._lock_fd = None

    def _acquire(self) -> int:
        import fcntl

        self._ensure_dir()
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self._lock_path, flags, 0o600)
        except OSError as exc:
            raise self._unusable(self._lock_path, exc.strerror or "cannot open it") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self._unusable(self._lock_path, "it is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    # ------------------------------------------------------------------ the file
    def _ensure_dir(self) -> None:
        try:
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the state folder {self.state_dir}: {exc.strerror}"
            ) from None

    def _read(self) -> dict[str, Any]:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._unusable(self.path, exc.strerror or "cannot open it") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self._unusable(self.path, "it is not a regular file")
            if st.st_mode & 0o077:
                raise ConfigError(
                    f"{self.path} is readable or writable by others "
                    f"(mode {stat.S_IMODE(st.st_mode):04o}); cmctl will not use it",
                    hint=f"run `chmod 600 {self.path}`, and log in again if others may "
                    "have read it",
                )
            if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
                raise self._unusable(self.path, "it belongs to another user")
            if st.st_size > MAX_BYTES:
                raise self._unusable(self.path, f"it is larger than {MAX_BYTES} bytes")
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
        finally:
            os.close(fd)
        try:
            data = json.loads(b"".join(chunks).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise self._unusable(self.path, "it is not valid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
            raise self._unusable(self.path, "it is not a cmctl credential store")
        if data.get("format") != FORMAT:
            raise self._unusable(
                self.path, f"it was written by another cmctl (format {data.get('format')!r})"
            )
        accounts: dict[str, Any] = data["accounts"]
        return accounts

    def _write(self, accounts: dict[str, Any]) -> None:
        self._ensure_dir()
        body = json.dumps({"format": FORMAT, "accounts": accounts}, indent=1, sort_keys=True)
        tmp = self.state_dir / f".{STORE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # a leftover of a crashed run of this very pid
            fd = os.open(tmp, flags, 0o600)
            try:
                os.write(fd, body.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise self._unusable(self.path, f"cannot write it: {exc.strerror}") from None

    @staticmethod
    def _unusable(path: Path, why: str) -> ConfigError:
        return ConfigError(
            f"cannot use the credential store {path}: {why}",
            hint=f"move it aside (cmctl then logs in again where it can): `mv {path} {path}.old`",
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment.astimezone(UTC)


def _raw(cred: Credential) -> dict[str, Any]:
    return {
        "access": cred.access,
        "refresh": cred.refresh,
        "expires_at": _iso(cred.expires_at),
        "refresh_expires_at": _iso(cred.refresh_expires_at),
        "renewable": cred.renewable,
        "extra": cred.extra,
        "version": cred.version,
    }


def _credential(raw: Any, account: str, path: Path) -> Credential:
    try:
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        access, refresh, version = raw.get("access"), raw.get("refresh"), raw.get("version")
        extra = raw.get("extra", {})
        if not isinstance(access, str) or not (refresh is None or isinstance(refresh, str)):
            raise ValueError("bad token")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("bad version")
        if not isinstance(extra, dict):
            raise ValueError("bad extra")
        return Credential(
            access=access,
            refresh=refresh,
            expires_at=_time(raw.get("expires_at")),
            refresh_expires_at=_time(raw.get("refresh_expires_at")),
            renewable=bool(raw.get("renewable", False)),
            extra=extra,
            version=version,
        )
    except ValueError:
        raise ConfigError(
            f"cannot use the credential store {path}: the entry of account '{account}' is damaged",
            hint=f"remove that entry, or move the file aside: `mv {path} {path}.old`",
        ) from None
