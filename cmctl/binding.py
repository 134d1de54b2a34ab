"""Binding a network's declaration to one account: the one place an adapter is built.

The publisher, `accounts check` and `resolve`'s look-ups all need the same thing: the
account's options with `${VAR}` secrets filled in, the local paths it declares resolved
against the folder of cmctl.yaml, and an HTTP client that redacts every secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmctl.networks import registry

if TYPE_CHECKING:
    from cmctl.config import Account, Config
    from cmctl.networks.base import Network


def bind(config: Config, account: Account, *, transport: Any = None) -> Network:
    """An adapter for ``account`` (``transport``: an httpx transport, for tests)."""
    from cmctl.networks.http import Http

    network = registry.get(account.network)
    options = network.local_options(
        {name: config.resolve(account, name) for name in account.options}, config.root
    )
    if network.media_by_url and config.media_url and not options.get("media_url"):
        options["media_url"] = config.media_url  # the adapter builds the media's URLs
    secrets = [
        str(options[f.name]) for f in network.account_fields if f.secret and options.get(f.name)
    ]
    http = Http(secrets=secrets, transport=transport)
    return network(account, options, http, config.state_dir)
