"""`cmctl plan --diff REV`: the click side (the work is in cmctl.plandiff)."""

from __future__ import annotations

import click

from cmctl.cli.options import existing_ledger, open_project


def run(
    ctx: click.Context,
    rev: str | None,
    fmt: str,
    as_json: bool,
    drafts: bool,
    filters: tuple[object, ...],
) -> None:
    """Print the plan diff of ``rev`` → the working tree; exit 1 when the working tree's
    calendars have errors (the diff is printed all the same), 2 on a bad revision."""
    from cmctl import clock, output, plandiff
    from cmctl.errors import UsageError

    if rev is None:
        raise UsageError("--format markdown goes with --diff REV")
    if any(filters):
        raise UsageError(
            "--diff compares whole projects: drop PATHS, --from, --to, --account and --network"
        )

    project = open_project(ctx)
    ledger = existing_ledger(project.config)
    states = {}
    if ledger is not None:
        try:
            states = ledger.states()
        finally:
            ledger.close()
    diff = plandiff.plan_diff(
        project.config,
        project.jobs,
        project.report.errors,
        states,
        rev,
        clock.now(),
        drafts=drafts,
    )
    if as_json:
        output.echo_json(diff.as_dict())
    elif fmt == "markdown":
        click.echo(plandiff.render_markdown(diff), nl=False)
    else:
        click.echo(plandiff.render_text(diff), nl=False)
    ctx.exit(1 if diff.errors else 0)
