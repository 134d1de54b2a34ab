"""cmctl cancel: make sure jobs never go out (a human decision, final)."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config


@click.command("cancel")
@click.argument("spec")
@click.pass_context
def command(ctx: click.Context, spec: str) -> None:
    """Cancel the unsent jobs of a calendar, a post or one job, for good.

    SPEC is a calendar name (e.g. after deleting or renaming its file on purpose:
    cmctl never cancels a vanished calendar's posts by itself), calendar:post,
    calendar:post@account or a job key. Edits to the calendar never undo it;
    `cmctl retry JOB` does.
    """
    from cmctl import clock
    from cmctl.cancel import cancel
    from cmctl.cli.options import ledger_for

    ledger = ledger_for(load_config(ctx))
    try:
        for line in cancel(ledger, spec, clock.now()):
            click.echo(line)
    finally:
        ledger.close()
