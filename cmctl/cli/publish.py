"""cmctl publish: send what is due now, exactly once, and exit (for cron or by hand)."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config


@click.command("publish")
@click.option(
    "--post",
    "only",
    metavar="ID",
    help="Send this post now, whatever its time (post id, calendar:post or job key).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@click.pass_context
def command(ctx: click.Context, only: str | None, dry_run: bool, as_json: bool) -> None:
    """Send every post that is due now, then exit.

    A post is due when its time has come and it is still within its catch-up
    window (catch_up, default 1h); older ones are marked missed and reported, never
    sent silently late. Two runs at the same moment never send a post twice.

    Run it by hand, or every minute from cron (see examples/crontab).

    Exit status: 0 everything due went out, 1 something failed, is unknown, was
    missed or waits for a retry, 2 config error.
    """
    from cmctl import output
    from cmctl.publish.cron import publish_now

    printer = output.OutcomePrinter(enabled=not as_json)
    with printer:
        # A dry run reads the ledger if there is one and never creates or changes it.
        result = publish_now(load_config(ctx), only=only, dry_run=dry_run, listener=printer)
    if as_json:
        output.echo_json(
            {
                "ok": result.ok,
                "outcomes": [o.as_dict() for o in result.outcomes],
                "held": result.held,
                "problems": result.problems,
                "held_posts": result.held_posts,
                "vanished": result.vanished,
            }
        )
    else:
        output.render_publish_summary(result, dry_run=dry_run)
    ctx.exit(result.exit_code)
