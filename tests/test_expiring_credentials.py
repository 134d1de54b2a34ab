"""`cmctl status` and `cmctl accounts check` list stored credentials that expire soon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cmctl.networks.credentials import Credential, CredentialStore
from tests.conftest import DEFAULT_NOW, as_json

TOKEN = "stored-access-token-123"
REFRESH = "stored-refresh-token-123"


def seed(project: Any, account: str, refresh_left: timedelta, renewable: bool = False) -> None:
    CredentialStore(project.root / ".cmctl").save(
        account,
        Credential(
            TOKEN,
            REFRESH,
            expires_at=DEFAULT_NOW + timedelta(hours=1),
            refresh_expires_at=DEFAULT_NOW + refresh_left,
            renewable=renewable,
        ),
    )


def test_status_warns_of_a_credential_that_expires_within_14_days(project: Any, run: Any) -> None:
    seed(project, "xacct", timedelta(days=3, hours=1))
    seed(project, "insta", timedelta(days=20))
    seed(project, "bsky", timedelta(days=1), renewable=True)  # logs in again by itself
    seed(project, "gone", timedelta(days=1))  # no longer in cmctl.yaml
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "warning: the credential of account 'xacct' expires in 3 days" in result.output
    assert "`cmctl accounts login xacct`" in result.output
    for quiet in ("insta", "bsky", "gone"):
        assert f"'{quiet}'" not in result.output
    assert TOKEN not in result.output and REFRESH not in result.output
    data = as_json(run("status", "--json"))
    assert [c["account"] for c in data["credentials"]] == ["xacct"]
    assert data["credentials"][0]["expired"] is False


def test_status_exits_1_once_a_credential_has_expired(project: Any, run: Any, now: Any) -> None:
    seed(project, "xacct", timedelta(days=3))
    now.move_to(DEFAULT_NOW + timedelta(days=4))
    result = run("status")
    assert result.exit_code == 1
    assert "expired on" in result.output and "cmctl accounts login xacct" in result.output


def test_accounts_check_says_when_a_credential_expires_soon(project: Any, run: Any) -> None:
    seed(project, "xacct", timedelta(days=10, hours=1))
    result = run("accounts", "check", "xacct", "--json")
    (row,) = as_json(result)["accounts"]
    assert "expires in 10 days" in row["message"]
    assert "cmctl accounts login xacct" in row["message"]
    assert row["credential_expires_at"].startswith("2026-11-30")
    assert TOKEN not in result.output
