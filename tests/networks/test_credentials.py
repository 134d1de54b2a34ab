"""The credential store: 0600 file, compare-and-swap, one refresh under a cross-process lock."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmctl.errors import ConfigError
from cmctl.networks.base import Permanent
from cmctl.networks.credentials import (
    Credential,
    CredentialStore,
    LoginRequired,
    StoreConflict,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "access-token-0123456789"
REFRESH = "refresh-token-0123456789"


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    from cmctl import clock

    monkeypatch.setattr(clock, "now", lambda: NOW)


def cred(access: str = TOKEN, in_: timedelta = timedelta(hours=2), **kw: object) -> Credential:
    return Credential(access=access, refresh=REFRESH, expires_at=NOW + in_, **kw)  # type: ignore[arg-type]


def test_the_file_is_0600_from_its_creation_whatever_the_umask(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "state")
    old = os.umask(0)
    try:
        store.save("a", cred())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "state" / "credentials.lock").st_mode) == 0o600
    assert [p.name for p in (tmp_path / "state").iterdir() if p.name.endswith(".tmp")] == []


def test_save_is_a_compare_and_swap_on_the_entry_version(tmp_path: Path) -> None:
    one, two = CredentialStore(tmp_path), CredentialStore(tmp_path)
    saved = one.save("a", cred())
    assert saved.version == 1
    loaded = two.get("a")
    assert (
        loaded is not None
        and loaded.access == TOKEN
        and loaded.expires_at == NOW + timedelta(hours=2)
    )
    one.save("a", Credential("newer-token-0123", version=saved.version))
    with pytest.raises(StoreConflict):
        two.save("a", Credential("stale-token-0123", version=loaded.version))
    assert (got := one.get("a")) is not None and got.access == "newer-token-0123"
    assert got.version == 2
    with pytest.raises(StoreConflict):  # a first save when another one exists
        two.save("a", Credential("stale-token-0123"))


def test_refresh_calls_fn_only_when_the_credential_expires_soon(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    calls: list[Credential | None] = []

    def fn(current: Credential | None) -> Credential:
        calls.append(current)
        return cred(f"token-number-{len(calls)}")

    assert store.refresh("a", fn).access == "token-number-1"  # none: fn(None)
    assert store.refresh("a", fn).access == "token-number-1"  # good for 2 hours
    store.save("a", cred("soon-expiring", timedelta(minutes=4), version=1))
    assert store.refresh("a", fn).access == "token-number-2"
    assert calls[1] is not None and calls[1].access == "soon-expiring"
    assert store.refresh("a", fn, refused="token-number-2").access == "token-number-3"
    # saved before it was returned: another instance reads it
    assert (got := CredentialStore(tmp_path).get("a")) is not None
    assert got.access == "token-number-3"


def test_nothing_is_saved_when_fn_fails(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.save("a", cred(in_=timedelta(0)))

    def fail(current: Credential | None) -> Credential:
        raise LoginRequired("a", "the refresh token was refused")

    with pytest.raises(LoginRequired) as caught:
        store.refresh("a", fail)
    assert (got := store.get("a")) is not None and got.version == 1
    # the error names the exact command, is exit 2, and a Permanent send error
    assert "`cmctl accounts login a`" in str(caught.value)
    assert caught.value.exit_code == 2 and isinstance(caught.value, Permanent)


def wait_until_blocked_on_a_flock(path: Path) -> None:
    """Until another thread waits for the flock on ``path`` (Linux's /proc/locks)."""
    inode = os.stat(path).st_ino
    deadline = 100_000
    while deadline:
        with open("/proc/locks") as f:
            if any("->" in line and f":{inode} " in line for line in f):
                return
        os.sched_yield()
        deadline -= 1
    raise AssertionError("the second store never waited on the lock")


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux /proc/locks")
def test_two_stores_racing_for_a_refresh_spend_the_refresh_token_once(tmp_path: Path) -> None:
    first, second = CredentialStore(tmp_path), CredentialStore(tmp_path)
    first.save("a", cred("old-access-token", timedelta(minutes=1)))
    spent: list[str | None] = []

    def rotate(current: Credential | None) -> Credential:
        spent.append(current.refresh if current else None)
        return Credential("new-access-token", "rotated-refresh", NOW + timedelta(hours=2))

    got: dict[str, Credential] = {}
    other = threading.Thread(target=lambda: got.setdefault("b", second.refresh("a", rotate)))
    with first.lock():
        other.start()
        wait_until_blocked_on_a_flock(tmp_path / "credentials.lock")
        got["a"] = first.refresh("a", rotate)
    other.join(10)
    assert spent == [REFRESH]  # once, by whoever held the lock
    assert got["a"].access == got["b"].access == "new-access-token"
    assert got["b"].refresh == "rotated-refresh"


def test_a_store_readable_by_others_is_refused_without_showing_a_token(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.save("a", cred())
    os.chmod(store.path, 0o644)
    with pytest.raises(ConfigError) as caught:
        store.get("a")
    text = str(caught.value)
    assert "0644" in text and "chmod 600" in text and TOKEN not in text and REFRESH not in text


@pytest.mark.parametrize("name", ["credentials.json", "credentials.lock"])
def test_links_and_fifos_are_refused_never_followed_or_waited_on(tmp_path: Path, name: str) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("{}")
    (tmp_path / name).symlink_to(target)
    store = CredentialStore(tmp_path)
    with pytest.raises(ConfigError, match="cannot use the credential store"):
        store.save("a", cred())
    assert target.read_text() == "{}"
    (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name)
    with pytest.raises(ConfigError, match="not a regular file"):
        store.save("a", cred())


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"format": 9, "accounts": {}}', b'{"format": 1, "accounts": {"a": 3}}'],
)
def test_a_damaged_store_is_a_clean_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(ConfigError, match="credential store"):
        CredentialStore(tmp_path).get("a")


def test_expiring_lists_what_a_human_must_renew(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    assert store.expiring() == []
    assert not (tmp_path / "credentials.json").exists()  # reading never creates one
    store.save("soon", cred(refresh_expires_at=NOW + timedelta(days=3)))
    store.save("later", cred(refresh_expires_at=NOW + timedelta(days=30)))
    store.save("renews-itself", cred(refresh_expires_at=NOW + timedelta(days=1), renewable=True))
    store.save("no-refresh", Credential("bare-access-token", expires_at=NOW + timedelta(days=13)))
    found = store.expiring(timedelta(days=14))
    assert [e.account for e in found] == ["no-refresh", "soon"]
    assert store.expiring(accounts={"later"}) == []
    line = found[1].line(NOW)
    assert "expires in 3 days" in line and "`cmctl accounts login soon`" in line


def test_a_credential_repr_shows_no_token() -> None:
    shown = repr(cred())
    assert TOKEN not in shown and REFRESH not in shown
