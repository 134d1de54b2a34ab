"""cmctl add: append a post to a calendar file, validated first, comments and style kept."""

from __future__ import annotations

import sys
from datetime import date

import click


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.command("add")
@click.option("--at", "at", required=True, help="Local time, e.g. '2027-01-04 09:30'.")
@click.option("--text", required=True, help="The post's text; '-' reads it from standard input.")
@click.option(
    "--accounts",
    "-a",
    multiple=True,
    metavar="NAMES",
    help="Account(s) from cmctl.yaml: repeat, or separate with commas "
    "(default: the calendar's defaults).",
)
@click.option(
    "--calendar",
    "calendar_name",
    metavar="NAME",
    help="calendars/NAME.yaml (created if missing). Default: the one calendar whose "
    "posts' months contain --at.",
)
@click.option("--media", multiple=True, metavar="PATH", help="A media file (repeatable).")
@click.option("--alt", multiple=True, metavar="TEXT", help="Alt text of each --media, in order.")
@click.option("--id", "post_id", metavar="ID", help="The post's id (default: from its text).")
@click.option("--repeat", metavar="RRULE", help="Repeat the post: an RRULE, e.g. FREQ=WEEKLY.")
@click.option("--draft", is_flag=True, help="Add it as a draft (status: draft): never published.")
@click.option("--timezone", metavar="ZONE", help="Time zone of a calendar file created here.")
@click.option("--dry-run", is_flag=True, help="Print the YAML that would be added; write nothing.")
@click.pass_context
def command(
    ctx: click.Context,
    at: str,
    text: str,
    accounts: tuple[str, ...],
    calendar_name: str | None,
    media: tuple[str, ...],
    alt: tuple[str, ...],
    post_id: str | None,
    repeat: str | None,
    draft: bool,
    timezone: str | None,
    dry_run: bool,
) -> None:
    """Append a post at the end of a calendar's `posts:`, keeping the rest of the file
    byte for byte (comments, quotes, indentation, line ends).

    The whole project is validated with the post added before anything is written:
    when it is invalid, the problems are shown as `cmctl validate` shows them, nothing
    is written, and the exit status is 1.

    \b
    cmctl add --at "2027-01-04 09:30" -a brand-x --text "Bonne année !"
    cmctl add --at "2027-01-05 12:00" --calendar 2027-01 --text - < post.txt
    cmctl add --at "2027-01-06 18:00" --text "…" --media img/a.png --alt "A red door"
    """
    from cmctl import addpost, clock, output
    from cmctl.cli.options import load_config
    from cmctl.config import display
    from cmctl.diagnostics import Diagnostic
    from cmctl.errors import UsageError
    from cmctl.timeutil import TimeProblem, parse_at, zone

    if text == "-":
        text = sys.stdin.read()
    text = text.lstrip("\n").rstrip()  # a here-doc's last line break, trailing spaces
    if not text.strip():
        raise UsageError("--text is empty")
    if len(alt) > len(media):
        raise UsageError("more --alt than --media: each --alt describes the --media before it")
    try:
        parse_at(at, zone("UTC"))  # the form only: the calendar's zone judges the rest
        if timezone is not None:
            zone(timezone)
    except TimeProblem as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    day = date.fromisoformat(at.strip()[:10])  # the date as written, local to the calendar
    config = load_config(ctx)
    now = clock.now()
    if calendar_name is not None:
        path = addpost.named_calendar(config, calendar_name)
    else:
        path = addpost.pick_calendar(config, day, now)
    request = addpost.Request(
        at=at,
        text=text,
        accounts=_split(accounts),
        media=tuple((m, alt[i] if i < len(alt) else None) for i, m in enumerate(media)),
        id=post_id,
        repeat=repeat,
        draft=draft,
    )
    addition = addpost.prepare(config, path, request, timezone=timezone)
    checked = addpost.check(config, addition, now)
    shown = display(path)
    first, last = addition.lines

    def about_the_post(d: Diagnostic) -> bool:
        return d.path == shown and first <= d.line <= last

    if checked.errors:
        # Every error of the project (warnings: the new post's only), as validate shows
        # them; the file's are shown without its lines: they are not on disk.
        shown_here = [d for d in checked.diagnostics if d.severity == "error" or about_the_post(d)]
        output.render_diagnostics_text([d for d in shown_here if d.path != shown])
        output.render_diagnostics_text([d for d in shown_here if d.path == shown], frames=False)
        click.echo("The post that was refused:", err=True)
        click.echo(addition.snippet, err=True)
        click.echo(
            f"✗ invalid: {checked.errors} error(s), {checked.warnings} warning(s); "
            f"{shown} was not changed",
            err=True,
        )
        ctx.exit(1)
    output.render_diagnostics_text(
        [d for d in checked.diagnostics if about_the_post(d)], err=True, frames=False
    )
    when = f"{checked.local:%a %Y-%m-%d %H:%M} {checked.timezone}" if checked.local else at.strip()
    whom = ", ".join(checked.accounts) or "(no account)"
    if dry_run:
        click.echo(addition.snippet)
        verb = "would add"
    else:
        addpost.write(addition)
        verb = "added"
    click.echo(f"{verb} post '{addition.id}' to {shown}: {when}, for {whom}", err=dry_run)
    if addition.created:
        click.echo(
            f"{'would create' if dry_run else 'created'} {shown} (timezone: {addition.timezone})",
            err=dry_run,
        )
