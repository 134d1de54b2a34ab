"""cmctl export: the plan as CSV, ICS or JSON, with the ledger's word on each job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from cmctl.cli.options import open_project

if TYPE_CHECKING:
    from cmctl.compile import Job


@click.command("export")
@click.argument("paths", nargs=-1)  # checked by the project loader
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "ics", "json"]),
    required=True,
    help="csv (re-importable), ics (a calendar to subscribe to) or json (the plan).",
)
@click.option("--from", "start", metavar="DATE", help="Only jobs on or after DATE (2027-01-04).")
@click.option("--to", "end", metavar="DATE", help="Only jobs up to the end of DATE.")
@click.option("--drafts", is_flag=True, help="Export drafts too (ICS: TENTATIVE).")
@click.option(
    "-o",
    "--output",
    "target",
    metavar="FILE",
    default="-",
    help="Write FILE (replaced at once, never half written); '-' is stdout (default).",
)
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    start: str | None,
    end: str | None,
    drafts: bool,
    target: str,
) -> None:
    """Write the plan as CSV, ICS or JSON, each job with its ledger state and URL.

    Everything the calendars hold by default, past included (a subscribed calendar
    keeps last week); --from/--to are days in the project's time zone, both included.
    Drafts are left out unless --drafts. Reads the ledger without creating or locking
    it. Exits 1, writing nothing, when the calendars have errors (`cmctl validate`).
    See docs/export.md for the columns and how to subscribe a team calendar.
    """
    from cmctl import clock, output, timeutil
    from cmctl import export as exporting
    from cmctl.cli.options import existing_ledger
    from cmctl.errors import UsageError
    from cmctl.planview import with_states

    project = open_project(ctx, paths, lazy=True)  # a view: files read as it reaches them
    tz = timeutil.zone(project.config.timezone or "UTC")
    try:
        lower = timeutil.parse_bound(start, tz) if start else None
        upper = timeutil.parse_bound(end, tz) if end else None
    except timeutil.TimeProblem as p:
        raise UsageError(p.message, hint=p.hint) from None
    if upper is not None and end is not None and len(end.strip()) == 10:  # the whole day
        upper = (upper.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
    if project.report.errors:
        output.console(err=True).print(
            f"[red bold]✗ {project.report.errors} error(s)[/] in the calendars: nothing "
            "exported; run `cmctl validate` to see them"
        )
        ctx.exit(1)

    def selected() -> Iterator[Job]:  # only the files with jobs in range are unpacked
        for job in project.jobs.between(lower, upper):
            if job.status == "draft" and not drafts:
                continue
            yield job

    ledger = existing_ledger(project.config)
    try:
        with exporting.destination(target) as out:
            pairs = with_states(selected(), ledger)
            if fmt == "csv":
                exporting.write_csv(pairs, out)
            elif fmt == "ics":
                out.write(exporting.calendar_ics(pairs, clock.now()).decode("utf-8"))
            else:
                exporting.write_json(pairs, out)
    finally:
        if ledger is not None:
            ledger.close()
