"""cmctl agenda: the editorial calendar as a week or month grid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cmctl.cli.options import open_project

if TYPE_CHECKING:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from cmctl.compile import Job
    from cmctl.project import Jobs


@click.command("agenda")
@click.argument("paths", nargs=-1)  # checked by the project loader (click.Path crashes on NUL)
@click.option("--week", "span", flag_value="week", help="Show one week.")
@click.option("--month", "span", flag_value="month", default=True, help="Show one month.")
@click.option(
    "--date",
    "day",
    metavar="DATE",
    help="A day in the week or month to show "
    "(default: today, or the first planned day if nothing is planned from today).",
)
@click.option("--drafts/--no-drafts", default=True, show_default=True, help="Show drafts.")
@click.option("--json", "as_json", is_flag=True, help="Print the grid as JSON.")
@click.option(
    "--html",
    "html_file",
    metavar="FILE",
    help="Write the month as one self-contained HTML page for the client ('-': stdout). "
    "--date picks the month (default: this month).",
)
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    span: str,
    day: str | None,
    drafts: bool,
    as_json: bool,
    html_file: str | None,
) -> None:
    """Show the calendar as a week or month grid, the way a CM reads it.

    Each day lists its posts with their local time and networks; drafts are
    marked. Days are those of the project's default time zone.

    With --html FILE: the month as a page to send the client (docs/agenda.md).
    """
    from cmctl import agenda, clock, output, timeutil
    from cmctl.errors import UsageError

    project = open_project(ctx, paths, lazy=True)  # a view: files read as it reaches them
    tz = timeutil.zone(project.config.timezone or _first_zone(project) or "UTC")
    if html_file is not None:
        if as_json or span == "week":
            raise UsageError("--html writes a month page: drop --json and --week")
        _html(project, drafts, tz, day, html_file)
        return
    if day:
        try:
            anchor = timeutil.parse_bound(day, tz).date()
        except timeutil.TimeProblem as p:
            raise UsageError(p.message, hint=p.hint) from None
    else:
        now = clock.now()
        first = _first_time(project.jobs, drafts)
        upcoming = _first_time(project.jobs.between(now, None), drafts)
        anchor = agenda.default_anchor(first, upcoming, tz, now)
    grid = agenda.build(_shown(project, drafts, tz, anchor, span), tz, anchor, span)
    if as_json:
        output.echo_json(
            {
                "title": grid.title,
                "timezone": tz.key,
                "days": [
                    {
                        "date": d.isoformat(),
                        "posts": [
                            {
                                "time": e.time,
                                "post": e.post,
                                "networks": e.networks,
                                "accounts": e.accounts,
                                "draft": e.draft,
                                "parts": e.parts,
                            }
                            for e in grid.days.get(d, [])
                        ],
                    }
                    for week in grid.weeks
                    for d in week
                ],
            }
        )
        return
    _render(grid, tz.key)


def _first_time(jobs: Jobs, drafts: bool) -> datetime | None:
    """The time of the first job of ``jobs`` (drafts too, if shown), the rest unread."""
    return next((j.at for j in jobs.packed() if drafts or j.status != "draft"), None)


def _shown(project: Any, drafts: bool, tz: ZoneInfo, anchor: date, span: str) -> list[Job]:
    """The jobs of the grid's days (drafts too, if shown): only the files with jobs
    then are unpacked, never the whole plan built."""
    from cmctl import agenda

    jobs = project.jobs.between(*agenda.window(anchor, span, tz))
    return [j for j in jobs if drafts or j.status != "draft"]


def _html(project: Any, drafts: bool, tz: ZoneInfo, day: str | None, target: str) -> None:
    """Write the month's page: the grid's jobs with their ledger states (read only)."""
    from pathlib import Path

    from cmctl import agenda, agenda_html, clock, timeutil
    from cmctl.cli.options import existing_ledger
    from cmctl.errors import UsageError
    from cmctl.output import console

    now = clock.now()
    try:
        anchor = timeutil.parse_bound(day, tz).date() if day else now.astimezone(tz).date()
    except timeutil.TimeProblem as p:
        raise UsageError(p.message, hint=p.hint) from None
    grid = agenda.build(_shown(project, drafts, tz, anchor, "month"), tz, anchor, "month")
    ledger = existing_ledger(project.config)
    try:
        states = agenda_html.ledger_states(ledger, agenda_html.month_keys(grid))
    finally:
        if ledger is not None:
            ledger.close()
    page = agenda_html.render(grid, tz, states, now=now, project=project.config.root.name)
    if target == "-":
        click.echo(page, nl=False)
        return
    path = Path(target)
    try:
        agenda_html.write(path, page)
    except OSError as exc:
        raise UsageError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint="give a file in a folder that exists and that you can write to",
        ) from None
    console(err=True).print(f"wrote {target} ({grid.title})", highlight=False, markup=False)


def _first_zone(project: object) -> str | None:
    calendars = getattr(project, "calendars", [])
    return calendars[0].timezone if calendars else None


def _render(grid: object, zone: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cmctl.agenda import Grid, abbreviation
    from cmctl.output import console

    assert isinstance(grid, Grid)
    table = Table(title=f"{grid.title} [dim]({zone})[/]", show_lines=True, expand=True)
    for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        table.add_column(name, ratio=1, overflow="fold", vertical="top")
    for week in grid.weeks:
        cells = []
        for d in week:
            dim = grid.month is not None and d.month != grid.month
            lines = [f"[{'dim' if dim else 'bold'}]{d.day}[/]"]
            for e in grid.days.get(d, []):
                nets = ",".join(abbreviation(n) for n in e.networks)
                thread = f" 🧵{e.parts}" if e.parts > 1 else ""
                style = "yellow" if e.draft else "cyan"
                draft = " (draft)" if e.draft else ""
                lines.append(
                    f"[{style}]{e.time}[/] {escape(e.post)}{draft}{thread} [dim]{escape(nets)}[/]"
                )
            cells.append("\n".join(lines))
        table.add_row(*cells)
    console().print(table)
