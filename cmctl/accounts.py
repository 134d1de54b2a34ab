"""Account checks: each adapter's harmless call, with secrets resolved but never shown."""

from __future__ import annotations

from typing import Any

from cmctl.config import Config
from cmctl.errors import CmctlError, UsageError
from cmctl.networks import registry
from cmctl.networks.base import SendError


def check_accounts(config: Config, names: tuple[str, ...] = (),
                   transport: Any = None) -> list[dict[str, Any]]:
    from cmctl.networks.http import Http

    unknown = [n for n in names if n not in config.accounts]
    if unknown:
        raise UsageError(f"unknown account '{unknown[0]}'",
                         hint="known: " + ", ".join(sorted(config.accounts)))
    results = []
    for name in names or tuple(sorted(config.accounts)):
        account = config.accounts[name]
        network = registry.get(account.network)
        result: dict[str, Any] = {"account": name, "network": account.network}
        if not network.publishes:
            results.append({**result, "ok": True,
                            "message": f"not checked: cmctl cannot publish to {network.title} "
                            "yet"})
            continue
        http = None
        try:
            options = {k: config.resolve(account, k) for k in account.options}
            if account.network == "feed" and isinstance(options.get("path"), str):
                options["path"] = str((config.root / options["path"]).resolve())
            http = Http(secrets=[str(options[f.name]) for f in network.account_fields
                                 if f.secret and options.get(f.name)], transport=transport)
            adapter = network(account, options, http, config.state_dir)
            try:
                message = adapter.check()
            finally:
                adapter.close()
            results.append({**result, "ok": True, "message": message})
        except (CmctlError, SendError) as exc:
            text = exc.message + (f" ({exc.hint})" if isinstance(exc, CmctlError)
                                  and exc.hint else "")
            results.append({**result, "ok": False,
                            "message": http.redact(text) if http else text})
        finally:
            if http is not None:
                http.close()
    return results
