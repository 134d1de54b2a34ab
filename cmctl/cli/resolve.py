"""cmctl resolve / cmctl retry: a human settles what cmctl could not."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config


@click.command("resolve")
@click.argument("job")
@click.option(
    "--published",
    "url",
    metavar="URL",
    help="It did go out: record it as published at URL (never sent again).",
)
@click.option(
    "--not-published",
    "not_published",
    is_flag=True,
    help="It did not go out: cmctl will send it (within its catch-up window).",
)
@click.option("--skip", is_flag=True, help="Drop it: it will never be sent.")
@click.pass_context
def command(ctx: click.Context, job: str, url: str | None, not_published: bool, skip: bool) -> None:
    """Settle a job that is unknown, failed or missed (or change a skip made by hand).

    JOB is a job key as `cmctl status` shows it (calendar:post@account#part), or a
    post (post id or calendar:post) when that names one job only. A decision made
    here is final until `cmctl retry` reopens the job. For a thread part with later
    parts, --published asks the network for that post so the rest can reply to it.
    """
    from cmctl import clock
    from cmctl.cli.options import ledger_for
    from cmctl.errors import UsageError
    from cmctl.settle import network_lookup, resolve

    if sum((url is not None, not_published, skip)) != 1:
        raise UsageError("say one of --published URL, --not-published or --skip")
    config = load_config(ctx)
    ledger = ledger_for(config)
    try:
        lines = resolve(
            ledger,
            job,
            clock.now(),
            url=url,
            not_published=not_published,
            skip=skip,
            lookup=network_lookup(config),
        )
    finally:
        ledger.close()
    for line in lines:
        click.echo(line)
