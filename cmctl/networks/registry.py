"""The one registry of networks: built-ins and third-party packages alike.

A network is named by ``module:Class``. Built-ins are listed below; a third-party
package adds its own under the ``cmctl.networks`` entry-point group, e.g.::

    [project.entry-points."cmctl.networks"]
    mynetwork = "cmctl_mynetwork:MyNetwork"

Nothing is imported until a network is asked for, so `cmctl --help` stays light.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmctl.networks.base import Network

ENTRY_POINT_GROUP = "cmctl.networks"

BUILTIN: dict[str, str] = {
    "mastodon": "cmctl.networks.mastodon:Mastodon",
    "bluesky": "cmctl.networks.bluesky:Bluesky",
    "x": "cmctl.networks.x:X",
    "linkedin": "cmctl.networks.linkedin:LinkedIn",
    "facebook": "cmctl.networks.facebook:Facebook",
    "instagram": "cmctl.networks.instagram:Instagram",
    "threads": "cmctl.networks.threads:Threads",
    "telegram": "cmctl.networks.telegram:Telegram",
    "discord": "cmctl.networks.discord:Discord",
    "slack": "cmctl.networks.slack:Slack",
    "wordpress": "cmctl.networks.wordpress:WordPress",
    "devto": "cmctl.networks.devto:DevTo",
    "webhook": "cmctl.networks.webhook:Webhook",
    "feed": "cmctl.networks.feed:Feed",
}


@cache
def _refs() -> dict[str, str]:
    refs = dict(BUILTIN)
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        refs.setdefault(ep.name, ep.value)
    return refs


def known(name: str) -> bool:
    """Is ``name`` a network cmctl knows? Built-ins answer without scanning the
    installed packages' entry points (a cost every command would pay)."""
    return name in BUILTIN or name in _refs()


def names() -> list[str]:
    """Every network name cmctl knows, sorted."""
    return sorted(_refs())


@cache
def get(name: str) -> type[Network]:
    """The declaration class of network ``name``; KeyError when unknown."""
    ref = BUILTIN.get(name) or _refs()[name]  # built-ins without scanning entry points
    module_name, _, attr = ref.partition(":")
    cls: type[Network] = getattr(importlib.import_module(module_name), attr)
    return cls
