"""cmctl agenda: the editorial calendar as a week or month grid."""

from __future__ import annotations

import click

from cmctl.cli.options import open_project


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
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    span: str,
    day: str | None,
    drafts: bool,
    as_json: bool,
) -> None:
    """Show the calendar as a week or month grid, the way a CM reads it.

    Each day lists its posts with their local time and networks; drafts are
    marked. Days are those of the project's default time zone.
    """
    from cmctl import agenda, clock, output, timeutil
    from cmctl.errors import UsageError

    project = open_project(ctx, paths)
    tz = timeutil.zone(project.config.timezone or _first_zone(project) or "UTC")
    jobs = [j for j in project.jobs if drafts or j.status != "draft"]
    if day:
        try:
            anchor = timeutil.parse_bound(day, tz).date()
        except timeutil.TimeProblem as p:
            raise UsageError(p.message, hint=p.hint) from None
    else:
        anchor = agenda.default_anchor(jobs, tz, clock.now())
    grid = agenda.build(jobs, tz, anchor, span)
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
