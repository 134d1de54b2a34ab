"""Helpers shared by commands: loading the project once, the clock, output choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cmctl.config import Config
    from cmctl.ledger.store import Ledger
    from cmctl.project import Project


def load_config(ctx: click.Context) -> Config:
    from cmctl import config  # not cmctl.project: commands that only read the ledger

    return config.load(config.find(explicit=(ctx.obj or {}).get("config_path")))


def open_project(
    ctx: click.Context,
    paths: tuple[str, ...] = (),
    *,
    keep: bool = True,
    workers: int | None = None,
    lazy: bool = False,
) -> Project:
    from cmctl import clock
    from cmctl.ledger.memory import queue_memory
    from cmctl.project import open_project as open_

    config = load_config(ctx)
    memory = queue_memory(config.state_dir)
    return open_(
        config, paths, now=clock.now(), keep=keep, workers=workers, memory=memory, lazy=lazy
    )


def ledger_for(config: Config) -> Ledger:
    """The project's ledger, created on first use."""
    from cmctl.ledger.store import Ledger

    return Ledger.open(config.state_dir)


def existing_ledger(config: Config) -> Ledger | None:
    """The ledger if cmctl has published before; reading never creates one.

    A damaged or missing ledger in a folder that was in use is an error (exit 2)."""
    from cmctl.ledger.store import Ledger

    return Ledger.existing(config.state_dir)
