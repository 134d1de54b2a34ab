"""Account checks: each adapter's harmless call, with secrets resolved but never shown.

``check`` proves an account without publishing anything. A network whose adapter also
has ``send_test()`` cannot be proved that way (a webhook receiver may publish whatever
it gets): its ``check`` verifies what it can without sending, the result says
``checked: False``, and only an explicit ``send_test`` (``--send-test NAME``) delivers
a test event.
"""

from __future__ import annotations

from typing import Any

from cmctl.binding import bind
from cmctl.config import Config
from cmctl.errors import CmctlError, UsageError
from cmctl.networks import registry
from cmctl.networks.base import SendError


def can_send_test(config: Config, name: str) -> bool:
    network = registry.get(config.accounts[name].network)
    return network.publishes and callable(getattr(network, "send_test", None))


def check_accounts(
    config: Config,
    names: tuple[str, ...] = (),
    transport: Any = None,
    send_test: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """One result per account: account, network, ok, checked, sent, message.

    ``ok``: nothing wrong was found. ``checked``: a call proved the credentials.
    ``sent``: what was delivered to the account (only for ``send_test`` names).
    """
    from cmctl.redact import scrub

    unknown = [n for n in (*names, *send_test) if n not in config.accounts]
    if unknown:
        raise UsageError(
            f"unknown account '{unknown[0]}'", hint="known: " + ", ".join(sorted(config.accounts))
        )
    for name in send_test:
        if not can_send_test(config, name):
            title = registry.get(config.accounts[name].network).title
            raise UsageError(
                f"account '{name}' ({title}) has no test event to send",
                hint=f"`cmctl accounts check {name}` proves it without posting",
            )
    wanted = tuple(dict.fromkeys((*names, *send_test))) if names else ()
    expiring = _expiring(config)
    results = []
    for name in wanted or tuple(sorted(config.accounts)):
        account = config.accounts[name]
        network = registry.get(account.network)
        result: dict[str, Any] = {"account": name, "network": account.network}
        if not network.publishes:
            results.append(
                {
                    **result,
                    "ok": True,
                    "checked": False,
                    "sent": None,
                    "message": f"not checked: cmctl cannot publish to {network.title} yet",
                }
            )
            continue
        http = None
        try:
            adapter = bind(config, account, transport=transport)
            http = adapter.http
            partial = callable(getattr(adapter, "send_test", None))
            sent = None
            try:
                message = adapter.check()
                if name in send_test:
                    sent = message = adapter.send_test()  # type: ignore[attr-defined]
            finally:
                adapter.close()
            results.append(
                {
                    **result,
                    "ok": True,
                    "checked": not partial or sent is not None,
                    "sent": http.redact(sent) if sent else None,
                    "message": http.redact(message),
                }
            )
        except (CmctlError, SendError) as exc:
            text = exc.message + (
                f" ({exc.hint})" if isinstance(exc, CmctlError) and exc.hint else ""
            )
            results.append(
                {
                    **result,
                    "ok": False,
                    "checked": False,
                    "sent": None,
                    "message": http.redact(text) if http else scrub(text) or text,
                }
            )
        finally:
            if http is not None:
                http.close()
    for r in results:
        _note_expiry(r, expiring.get(r["account"]))
    return results


def _expiring(config: Config) -> dict[str, Any]:
    """Stored credentials a human must renew within 14 days, by account (none when the
    store cannot be read: the account's own check then says why)."""
    from cmctl.networks.credentials import EXPIRING_WITHIN, CredentialStore

    try:
        found = CredentialStore(config.state_dir).expiring(
            EXPIRING_WITHIN, accounts=set(config.accounts)
        )
    except CmctlError:
        return {}
    return {e.account: e for e in found}


def _note_expiry(result: dict[str, Any], expiring: Any) -> None:
    """`accounts check` says when the account's stored credential expires soon."""
    from cmctl import clock

    if expiring is None:
        return
    now = clock.now()
    result["credential_expires_at"] = expiring.expires_at.isoformat()
    result["message"] += f" (warning: {expiring.line(now)})"
    if expiring.expires_at <= now:
        result["ok"] = False


def login_states(config: Config) -> dict[str, dict[str, Any] | None]:
    """The browser login of each account (None: its network does not log in that way).

    ``state``: "logged in", "not logged in", "expired" or "seeded" (tokens written in
    cmctl.yaml, not yet used); ``expires_at``: when a human must log in again (ISO, or
    None); ``renews_itself``: a refresh token without a known end. Never creates the
    store; one cmctl cannot read counts as no login (`accounts check` says why)."""
    from cmctl import clock
    from cmctl.networks.credentials import Credential, CredentialStore

    stored: dict[str, Credential] = {}
    store = CredentialStore(config.state_dir)
    try:
        import os

        if os.path.lexists(store.path):
            stored = store.all()
    except CmctlError:
        stored = {}
    now = clock.now()
    states: dict[str, dict[str, Any] | None] = {}
    for name, account in config.accounts.items():
        if registry.get(account.network).oauth is None:
            states[name] = None
            continue
        cred = stored.get(name)
        until = cred.lasts_until if cred is not None else None
        if cred is None:
            state = "seeded" if account.options.get("access_token") else "not logged in"
        else:
            state = "expired" if until is not None and until <= now else "logged in"
        states[name] = {
            "state": state,
            "expires_at": until.isoformat() if until is not None else None,
            "renews_itself": cred is not None and cred.refresh is not None and until is None,
        }
    return states
