"""cmctl plan: what the calendars compile to, in time order."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from cmctl.cli.options import open_project

if TYPE_CHECKING:
    from cmctl.diagnostics import Diagnostic
    from cmctl.ledger.store import Ledger


@click.command("plan")
@click.argument("paths", nargs=-1)  # checked by the project loader (click.Path crashes on NUL)
@click.option("--from", "start", metavar="DATE", help="Only jobs at or after DATE (2026-12-01).")
@click.option("--to", "end", metavar="DATE", help="Only jobs before the end of DATE.")
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--network", "networks", multiple=True, metavar="NAME", help="Only this network.")
@click.option("--drafts", is_flag=True, help="Show drafts too (they never publish).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Processes that write a large plan (default: one per CPU; 1: one).",
)
@click.option("--diff", "rev", metavar="REV", help="Compare with the plan at git revision REV.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    help="With --diff: markdown renders a pull request comment.",
)
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    start: str | None,
    end: str | None,
    accounts: tuple[str, ...],
    networks: tuple[str, ...],
    drafts: bool,
    as_json: bool,
    rev: str | None,
    fmt: str,
    workers: int | None,
) -> None:
    """Show the jobs the calendars compile to, sorted by time.

    One job per post and account, thread parts in order: local time and UTC,
    account, network, first line of text and its length as the network counts it.
    Dates are read in the project's default time zone (defaults.timezone).

    Exits 1 when the calendars have errors (run `cmctl validate` to see them).

    `--diff REV` compares the plan with the one at git revision REV (origin/main):
    jobs added, removed, moved, edited (a word diff), accounts added or dropped.
    """
    from cmctl import gcpause

    if rev is not None or fmt != "text":
        from cmctl.cli.plan_diff import run

        return run(ctx, rev, fmt, as_json, drafts, (paths, start, end, accounts, networks))

    with gcpause.paused():  # jobs, their states and the rows written: no cycles
        _plan(ctx, paths, start, end, accounts, networks, drafts, as_json, workers)


def _plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    start: str | None,
    end: str | None,
    accounts: tuple[str, ...],
    networks: tuple[str, ...],
    drafts: bool,
    as_json: bool,
    workers: int | None,
) -> None:
    from cmctl import output, planview, timeutil
    from cmctl.cli.options import existing_ledger
    from cmctl.errors import UsageError
    from cmctl.ledger import preview

    # lazy: the first rows before the rest of the plan is read, the checks after them
    project = open_project(ctx, paths, lazy=True)
    tz = timeutil.zone(project.config.timezone or "UTC")
    lower = upper = None
    try:
        if start:
            lower = timeutil.parse_bound(start, tz)
        if end:
            upper = timeutil.parse_bound(end, tz)
            if len(end.strip()) == 10:  # a date: include the whole day
                upper = (upper.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
    except timeutil.TimeProblem as p:
        raise UsageError(p.message, hint=p.hint) from None
    filters = planview.Filters(lower, upper, accounts, networks, drafts)
    jobs = project.jobs.between(lower, upper)
    ledger = existing_ledger(project.config)  # a damaged one is said before any row
    if ledger is not None:
        ledger.close()  # no connection crosses the fork of a sliced plan

    def open_ledger() -> Ledger | None:
        return None if ledger is None else existing_ledger(project.config)

    def notices() -> list[Diagnostic]:
        # What the ledger knows that the calendars cannot say (a thread reshaped after it
        # started, a renamed file, a vanished calendar): said before publish acts on it,
        # after the rows (the first rows at once).
        return preview.diagnostics(project) if ledger is not None else []

    if as_json:
        planview.write_json(
            jobs, filters, open_ledger, project, lambda: [d.as_dict() for d in notices()], workers
        )
        ctx.exit(1 if project.errors else 0)  # (the checks that span files only warn)
    hidden, found = planview.write_text(jobs, filters, open_ledger, project, notices, workers)
    errors = len(project.errors)  # not the warnings: the checks that span files not run
    err = output.console(err=True)
    if hidden:
        err.print(f"[dim]{hidden} draft job(s) hidden; --drafts shows them[/]")
    if found:
        output.render_diagnostics_text(found, err=True)
    if errors:
        err.print(
            f"[red bold]✗ {errors} error(s)[/] in the calendars: run `cmctl validate` to see them"
        )
    ctx.exit(1 if errors else 0)
