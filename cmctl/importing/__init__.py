"""Bulk CSV files of other tools (and a generic CSV) → a new calendar file.

reader (the file, each cell's physical place) → a format module (rows → drafts) →
build (drafts → calendar YAML, validated the way `cmctl validate` judges it, problems
mapped back to the CSV's cells). See docs/import.md.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING

from cmctl import clock, timeutil
from cmctl.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from cmctl.config import Config
    from cmctl.importing.build import Outcome

# format name -> module, imported when used
FORMATS: dict[str, str] = {
    "buffer": "cmctl.importing.buffer",
    "hootsuite": "cmctl.importing.hootsuite",
    "csv": "cmctl.importing.generic",
}

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def run(
    config: Config,
    fmt: str,
    file: str,
    *,
    name: str | None = None,
    tz: str | None = None,
    accounts: str | None = None,
    day_first: bool = False,
    mapping: str | None = None,
    delimiter: str | None = None,
    skip_bad: bool = False,
) -> tuple[Outcome, Path]:
    """Read ``file`` in format ``fmt`` and build the calendar (nothing is written)."""
    from pathlib import Path

    from cmctl.config import display
    from cmctl.importing import build, draft, reader

    if "\0" in file:
        raise UsageError("FILE holds a NUL character")
    path = Path(file)
    if name is None:
        name = draft_name(path.stem)
    if not NAME.match(name):
        raise UsageError(f"--calendar '{name}' is not a name: use a-z, 0-9, '-' and '_'")
    target = config.root / "calendars" / f"{name}.yaml"
    if target.exists() or target.is_symlink():
        raise UsageError(
            f"{display(target)}: already exists; not overwritten (choose another --calendar)"
        )
    default_accounts = tuple(draft.names(accounts or ""))
    for account in default_accounts:
        if account not in config.accounts:
            known = ", ".join(sorted(config.accounts)) or "none"
            raise UsageError(f"--accounts: unknown account '{account}' (cmctl.yaml has: {known})")
    fields = _mapping(mapping)
    table = reader.read_table(path, file, delimiter)
    module = importlib.import_module(FORMATS[fmt])
    parsed: draft.Parsed = module.parse(table, day_first=day_first, mapping=fields)
    zone = tz or config.timezone or _one_zone(parsed)
    if zone is None:
        raise UsageError("no time zone: give --timezone (or defaults.timezone in cmctl.yaml)")
    try:
        timeutil.zone(zone)
    except timeutil.TimeProblem as p:
        raise UsageError(f"--timezone: {p.message}", hint=p.hint) from None
    options = build.Options(zone, default_accounts, skip_bad)
    return build.build(parsed, config, options, target, clock.now()), target


def draft_name(stem: str) -> str:
    """A calendar name from a file name: 'Posts Janvier 2027' → 'posts-janvier-2027'."""
    from cmctl.importing.build import unique_id

    return unique_id(stem, set())


def _mapping(text: str | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise UsageError(f"--map: '{item}' is not FIELD=COLUMN (e.g. text=Message)")
        fields[field.strip()] = column.strip()
    return fields


def _one_zone(parsed: object) -> str | None:
    zones = {d.zone.value for d in getattr(parsed, "drafts", []) if d.zone is not None}
    return zones.pop() if len(zones) == 1 else None
