"""cmctl plan: what the calendars compile to, in time order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from cmctl.cli.options import open_project

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.ledger.store import JobState, Ledger


@click.command("plan")
@click.argument("paths", nargs=-1)  # checked by the project loader (click.Path crashes on NUL)
@click.option("--from", "start", metavar="DATE", help="Only jobs at or after DATE (2026-12-01).")
@click.option("--to", "end", metavar="DATE", help="Only jobs before the end of DATE.")
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--network", "networks", multiple=True, metavar="NAME", help="Only this network.")
@click.option("--drafts", is_flag=True, help="Show drafts too (they never publish).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
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
        _plan(ctx, paths, start, end, accounts, networks, drafts, as_json)


def _plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    start: str | None,
    end: str | None,
    accounts: tuple[str, ...],
    networks: tuple[str, ...],
    drafts: bool,
    as_json: bool,
) -> None:
    from cmctl import output, timeutil
    from cmctl.cli.options import existing_ledger
    from cmctl.errors import UsageError
    from cmctl.ledger import preview

    project = open_project(ctx, paths)
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
    # The jobs stream in plan order, built one at a time (project.Jobs), never all held.
    # `--json` reads the jobs as their packed rows (no Job built: project.Packed); the
    # filters and states read the same names (at, account, network, status, key) on both.
    jobs: Iterator[Any] = project.jobs.packed() if as_json else iter(project.jobs)
    if lower is not None:
        jobs = (j for j in jobs if j.at >= lower)
    if upper is not None:
        jobs = (j for j in jobs if j.at < upper)
    if accounts:
        jobs = (j for j in jobs if j.account in accounts)
    if networks:
        jobs = (j for j in jobs if j.network in networks)
    hidden = [0]  # drafts left out, counted as they pass
    if not drafts:
        jobs = _no_drafts(jobs, hidden)
    report = project.report
    ledger = existing_ledger(project.config)
    try:
        # What the ledger knows that the calendars cannot say (a thread reshaped after it
        # started, a renamed file, a vanished calendar): said before publish acts on it.
        notices = preview.diagnostics(project) if ledger is not None else []
        rows = _with_states(jobs, ledger)
        if as_json:
            output.echo_json(
                {
                    "jobs": (output.PlanPacked(j, row) for j, row in rows),  # job_dict's
                    "drafts_hidden": output.Later(lambda: hidden[0]),
                    "errors": report.errors,
                    "warnings": report.warnings,
                    "notices": [d.as_dict() for d in notices],
                }
            )
        else:
            output.render_plan_text(rows)
    finally:
        if ledger is not None:
            ledger.close()
    if not as_json:
        err = output.console(err=True)
        if hidden[0]:
            err.print(f"[dim]{hidden[0]} draft job(s) hidden; --drafts shows them[/]")
        if notices:
            output.render_diagnostics_text(notices, err=True)
        if report.errors:
            err.print(
                f"[red bold]✗ {report.errors} error(s)[/] in the calendars: "
                "run `cmctl validate` to see them"
            )
    ctx.exit(1 if report.errors else 0)


def _no_drafts(jobs: Iterator[Job], hidden: list[int]) -> Iterator[Job]:
    for job in jobs:
        if job.status == "draft":
            hidden[0] += 1
        else:
            yield job


STATE_BATCH = 999  # keys per query of the ledger's states (SQLite's oldest limit)


def _with_states(
    jobs: Iterator[Any], ledger: Ledger | None
) -> Iterator[tuple[Any, JobState | None]]:
    """Each job (a ``Job``, or a ``project.Packed`` for `--json`) with its ledger state,
    read for a batch of jobs at a time."""
    if ledger is None:
        for job in jobs:
            yield job, None
        return
    batch: list[Any] = []
    for job in jobs:
        batch.append(job)
        if len(batch) >= STATE_BATCH:
            states = ledger.states([j.key for j in batch])
            for one in batch:
                yield one, states.get(one.key)
            batch = []
    states = ledger.states([j.key for j in batch])
    for one in batch:
        yield one, states.get(one.key)
