"""cmctl pause / cmctl resume: the emergency brake (cmctl/brake.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cmctl.cli.options import load_config

if TYPE_CHECKING:
    from cmctl.config import Config


def _known(config: Config, accounts: tuple[str, ...]) -> list[str]:
    """The accounts named, each one of cmctl.yaml's (else a usage error, exit 2)."""
    from cmctl.errors import UsageError

    unknown = sorted({a for a in accounts if a not in config.accounts})
    if unknown:
        known = ", ".join(sorted(config.accounts)) or "none"
        raise UsageError(
            f"no account named {', '.join(repr(a) for a in unknown)} in {config.path.name}",
            hint=f"the accounts are: {known}",
        )
    return list(dict.fromkeys(accounts))


@click.command("pause")
@click.argument("accounts", nargs=-1, metavar="[ACCOUNT]...")
@click.option("--reason", metavar="TEXT", help="Why (shown by `cmctl status` and `publish`).")
@click.pass_context
def command(ctx: click.Context, accounts: tuple[str, ...], reason: str | None) -> None:
    """Stop publishing at once: the whole project, or the ACCOUNTs named.

    Whatever publishes (cron, the daemon, `cmctl publish` by hand) starts no new send
    once this returns; a send already under way finishes. Due posts are held and
    reported, not sent and not marked missed. `cmctl status` shows the pause first
    (and exits 1) until `cmctl resume` lifts it; then what is still within its
    catch-up window goes out, and the rest is missed.

    `cmctl publish --post` is refused on a paused account: resume it first.
    """
    from cmctl import brake, clock
    from cmctl.cli.options import ledger_for

    config = load_config(ctx)
    names = _known(config, accounts)
    ledger = ledger_for(config)
    try:
        made = brake.pause(ledger, names, reason, clock.now())
    finally:
        ledger.close()
    for p in made:
        click.echo(f"paused {p.what} (by {p.by}" + (f": {p.reason})" if p.reason else ")"))
    click.echo(
        "nothing new is sent until `cmctl resume" + (f" {' '.join(names)}" if names else "") + "`"
    )


@click.command("resume")
@click.argument("accounts", nargs=-1, metavar="[ACCOUNT]...")
@click.pass_context
def resume(ctx: click.Context, accounts: tuple[str, ...]) -> None:
    """Lift the pause: of the ACCOUNTs named, or every pause.

    The next run (the daemon's within a second, or cron's next `cmctl publish`)
    sends the posts that are still within their catch-up window; the others are
    marked missed and listed by `cmctl status` (`cmctl publish --post` or `cmctl
    retry` still sends one on purpose).
    """
    from cmctl import brake
    from cmctl.cli.options import existing_ledger

    config = load_config(ctx)
    names = _known(config, accounts)
    ledger = existing_ledger(config)
    if ledger is None:
        click.echo("nothing was paused")
        return
    try:
        lifted = brake.resume(ledger, names)
    finally:
        ledger.close()
    if not lifted:
        click.echo("nothing was paused" + (f" for {', '.join(names)}" if names else ""))
        return
    for p in lifted:
        click.echo(f"resumed {p.what} ({p.describe()})")
