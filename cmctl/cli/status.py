"""cmctl status: what the ledger says, and everything that needs a human."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """Counts per state, the daemon's heartbeat, and every job that needs a human.

    An active pause (`cmctl pause`) comes first: what is paused, since when, by whom
    and why; the exit status is then 1.

    Jobs that need a human are failed (the network said no), unknown (may or may
    not have been published: settle with `cmctl resolve`) and missed (too late to
    go out). Also what the last run could not do: calendars held by errors or gone
    from the project, thread posts held, unusable accounts. Exit status 1 when there
    is any, for monitoring; 0 otherwise. A stored credential that expires within 14
    days is a warning line (exit 1 once it has expired).
    """
    from cmctl import clock, output
    from cmctl.cli.options import existing_ledger
    from cmctl.status import expiring_credentials, gather

    config = load_config(ctx)
    ledger = existing_ledger(config)
    try:
        report = gather(ledger, clock.now())
    finally:
        if ledger is not None:
            ledger.close()
    report["credentials"] = expiring_credentials(config, clock.now())
    if as_json:
        output.echo_json(report)
    else:
        output.render_status(report)
        for c in report["credentials"]:
            from rich.markup import escape

            output.console().print(f"[yellow]warning:[/] {escape(c['message'])}")
    expired = any(c["expired"] for c in report["credentials"])
    paused = bool(report["pauses"])
    ctx.exit(1 if report["attention"] or report["blocked"] or expired or paused else 0)
