"""cmctl daemon: a lightweight process that wakes at each post's time and publishes."""

from __future__ import annotations

import click


@click.command("daemon")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event on stderr, as text or JSON.",
)
@click.pass_context
def command(ctx: click.Context, log_format: str) -> None:
    """Run until stopped, publishing each post at its time.

    Sleeps between posts (no polling of the networks); each publishing round runs in a
    short-lived child process, so the daemon stays small. Re-reads the calendars on
    SIGHUP and when cmctl.yaml, .env or a calendar file changes, so a merged pull
    request takes effect without a restart. SIGTERM or SIGINT: sends in flight
    finish, then it exits. One daemon per state folder; a second one exits 2.

    See examples/cmctl.service for a systemd unit.
    """
    from cmctl.cli.options import load_config
    from cmctl.daemon import Daemon, default_log

    ctx.exit(Daemon(lambda: load_config(ctx), default_log(log_format == "json")).run())
