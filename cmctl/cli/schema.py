"""cmctl schema: the JSON Schema of calendar files, for editors and CI."""

from __future__ import annotations

import click


@click.command("schema")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False),
              help="Write to this file instead of standard output.")
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

        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
