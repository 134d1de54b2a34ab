"""cmctl import FORMAT FILE: a bulk CSV (Buffer, Hootsuite, generic) → a new calendar."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config
from cmctl.importing import FORMATS


@click.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(list(FORMATS)))
@click.argument("file", metavar="FILE")
@click.option(
    "--calendar",
    "name",
    metavar="NAME",
    help="Write calendars/NAME.yaml (default: the file's name); never overwrites a file.",
)
@click.option("--timezone", "tz", metavar="ZONE", help="Time zone of the file's times.")
@click.option(
    "--accounts", metavar="A,B", help="Accounts of the rows that name none (Buffer, Hootsuite)."
)
@click.option(
    "--day-first", is_flag=True, help="Hootsuite: dates are DD/MM/YYYY (chosen at upload)."
)
@click.option(
    "--map",
    "mapping",
    metavar="FIELD=COLUMN,…",
    help="csv: read a field from a column of another name (text=Message,date=Day).",
)
@click.option("--delimiter", metavar="CHAR", help="The cell separator (default: detected).")
@click.option("--skip-bad", is_flag=True, help="Leave bad rows out instead of writing nothing.")
@click.option("--dry-run", is_flag=True, help="Print the calendar instead of writing it.")
@click.pass_context
def command(
    ctx: click.Context,
    fmt: str,
    file: str,
    name: str | None,
    tz: str | None,
    accounts: str | None,
    day_first: bool,
    mapping: str | None,
    delimiter: str | None,
    skip_bad: bool,
    dry_run: bool,
) -> None:
    """Import a bulk-upload CSV as a new calendar file, one post per row.

    FORMAT is buffer, hootsuite or csv (the columns `cmctl export --format csv` writes:
    id, date, time, timezone, accounts, text, link, media, alt). The calendar is validated
    before it is written; a bad row is reported as FILE:LINE:COLUMN (the physical line)
    and nothing is written, unless --skip-bad. See docs/import.md.

    \b
        cmctl import hootsuite posts.csv --accounts brand-x --day-first --calendar jan
        cmctl import csv sheet.csv --map text=Message,date=Day --timezone Europe/Paris

    Exit status: 0 written, 1 bad rows (nothing written), 2 usage or unreadable file.
    """
    from cmctl import importing

    config = load_config(ctx)
    outcome, target = importing.run(
        config,
        fmt,
        file,
        name=name,
        tz=tz,
        accounts=accounts,
        day_first=day_first,
        mapping=mapping,
        delimiter=delimiter,
        skip_bad=skip_bad,
    )
    for problem in outcome.problems:
        click.echo(
            f"{file}:{problem.line}:{problem.col}: {problem.severity}: {problem.message}", err=True
        )
    if outcome.skipped:
        lines = ", ".join(str(n) for n in outcome.skipped)
        click.echo(f"skipped {len(outcome.skipped)} bad row(s), at line(s) {lines}", err=True)
    if outcome.text is None:
        if outcome.errors and not skip_bad:
            click.echo(
                f"✗ {len(outcome.errors)} error(s): nothing written "
                "(fix the rows, or --skip-bad to leave them out)",
                err=True,
            )
        else:
            click.echo("✗ no row to import: nothing written", err=True)
        ctx.exit(1)
    if dry_run:
        click.echo(outcome.text, nl=False)
        return
    from cmctl.config import display
    from cmctl.importing.build import write_new

    write_new(target, outcome.text)
    click.echo(f"✓ {outcome.posts} post(s) written to {display(target)}")
    if target not in config.calendar_files():
        click.echo(
            f"note: {display(target)} is not among the calendars cmctl.yaml's 'calendars:' "
            "patterns match: move it, or add a pattern",
            err=True,
        )
