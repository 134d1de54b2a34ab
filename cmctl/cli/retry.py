"""cmctl retry: send a failed or missed job again."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config


@click.command("retry")
@click.argument("jobs", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Every failed job.")
@click.pass_context
def command(ctx: click.Context, jobs: tuple[str, ...], all_failed: bool) -> None:
    """Put failed, missed or skipped-by-hand jobs back in the queue; the next publish
    sends them.

    JOBS are job keys or posts (post id or calendar:post). A thread part is queued
    with the parts before it that are not published yet. An `unknown` job is not
    retried blindly (it may be online already): settle it with `cmctl resolve`.
    """
    from cmctl import clock
    from cmctl.cli.options import ledger_for
    from cmctl.errors import UsageError
    from cmctl.settle import retry

    if not jobs and not all_failed:
        raise UsageError("name the jobs to retry, or pass --all-failed")
    config = load_config(ctx)
    ledger = ledger_for(config)
    try:
        for line in retry(ledger, jobs, clock.now(), all_failed=all_failed):
            click.echo(line)
    finally:
        ledger.close()
