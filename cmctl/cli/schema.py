"""cmctl schema: the JSON Schema of calendar files, for editors and CI."""

from __future__ import annotations

import click


@click.command("schema")
@click.option(
    "-o",
    "--output",
    "out",
    metavar="FILE",  # not click.Path: it crashes on a NUL
    help="Write to this file instead of standard output.",
)
def command(out: str | None) -> None:
    """Print the JSON Schema of calendar files.

    Editors with the YAML language server check and complete calendars with it:

        cmctl schema -o calendar.schema.json

    then put this first line in each calendar file:

        # yaml-language-server: $schema=../calendar.schema.json
    """
    import json

    from cmctl.calendar.schema import for_editors

    text = json.dumps(for_editors(), indent=2, ensure_ascii=False) + "\n"
    if out:
        from pathlib import Path

        from cmctl.errors import UsageError

        try:
            Path(out).write_text(text, encoding="utf-8")
        except (OSError, ValueError) as exc:  # no such folder, disk full, read-only...
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(
                f"cannot write {out}: {reason}", hint="check that the folder exists and is writable"
            ) from None
    else:
        click.echo(text, nl=False)
