"""cmctl init: start a project that works at once (a week of posts from next Monday)."""

from __future__ import annotations

import click


@click.command("init")
@click.argument("directory", default=".", metavar="[DIR]")
@click.option(
    "--timezone",
    "tz",
    metavar="ZONE",
    help="IANA time zone of the calendars (default: this machine's, else UTC).",
)
@click.option(
    "--networks",
    metavar="NAME,…",
    help="The networks to write a commented account for (default: every one cmctl knows).",
)
def command(directory: str, tz: str | None, networks: str | None) -> None:
    """Create a working project in DIR (default: here).

    Writes cmctl.yaml with a local feed account (no account or secret needed) and a
    commented account per network (secrets as ${VAR}), .env.example, a starter calendar
    whose posts are dated from the first Monday after today in the project's time zone,
    an image with alt text, .gitignore, .pre-commit-config.yaml and a GitHub Actions
    workflow that validates the calendars on every pull request.

    A file that already exists is never overwritten: it is kept and listed.

        cmctl init my-brand --timezone Europe/Paris --networks mastodon,bluesky
    """
    from pathlib import Path

    from cmctl import clock, scaffold
    from cmctl.errors import UsageError

    if "\0" in directory:
        raise UsageError("DIR holds a NUL character")
    notice = None
    if tz is None:
        tz = scaffold.system_zone()
        if tz is None:
            tz = "UTC"
            notice = "this machine's time zone is unknown: the project uses UTC (--timezone)"
    zone = scaffold.zone_named(tz)
    now = clock.now()
    monday = scaffold.next_monday(now, zone)
    files = scaffold.project_files(
        today=now.astimezone(zone).date(), monday=monday, timezone=tz, networks=networks
    )
    root = Path(directory)
    done = scaffold.write_new(root, files)
    shown = "." if directory in (".", "") else directory
    for path in done.created:
        click.echo(f"created  {Path(shown, path)}")
    for path in done.kept:
        click.echo(f"kept     {Path(shown, path)} (already there, not changed)")
    if notice:
        click.echo(f"note: {notice}", err=True)
    click.echo(
        f"\nA project in {shown}: time zone {tz}, posts from Monday {monday.isoformat()}."
        "\nNext:"
        + (f"\n  cd {shown}" if shown != "." else "")
        + "\n  cmctl validate        # check the calendars"
        "\n  cmctl plan            # what goes out, when, where"
        "\n  cmctl publish --post welcome   # send one post now (to the local feed)"
        "\n  cp .env.example .env  # then uncomment accounts in cmctl.yaml and fill in .env"
    )
