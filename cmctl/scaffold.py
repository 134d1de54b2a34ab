"""`cmctl init`: the files of a new, working project, and writing them without overwriting.

The project is worked out first (:func:`project_files`, pure: a date, a zone and the
networks in, file contents out), then written (:func:`write_new`), so that a test can read
what would be made without touching a disk.

Every network-specific line comes from the networks' declarations (cmctl.networks.registry):
a commented account stanza per network from its ``account_fields`` and their help, the
``.env.example`` lines from its secret fields, and the one active account from the first
network that publishes with nothing but local files (no secret, every required field a
local path). No network is named here.
"""

from __future__ import annotations

import re
import struct
import textwrap
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cmctl.errors import UsageError

if TYPE_CHECKING:
    from cmctl.networks.base import AccountField, Network

CALENDAR = "first-week"  # calendars/first-week.yaml
ACCOUNT_PREFIX = "brand"  # account names: brand-<network>
IMAGE = "calendars/media/welcome.png"
WORKFLOW = ".github/workflows/validate-calendars.yml"
_EXAMPLE = re.compile(r"\be\.g\.\s+(\S+?)[,;)]?(?:\s|$)")
_EXTENSION = re.compile(r"(?<![\w/])(\.[a-z0-9]+)\b")


# ------------------------------------------------------------------------------ time
def next_monday(now: datetime, zone: ZoneInfo) -> date:
    """The first Monday after today, today being the date in ``zone`` at ``now``
    (a Monday gives the one a week later)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    today = now.astimezone(zone).date()
    return today + timedelta(days=7 - today.weekday())


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a UsageError (exit 2) when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f"--timezone: '{name}' is not a time zone",
            hint="use an IANA name such as Europe/Paris, America/New_York or UTC",
        ) from None


def system_zone() -> str | None:
    """The IANA name of this machine's time zone, or None when it cannot be told.

    Read with tzlocal (already installed with APScheduler 3.x): the TZ variable first,
    then the system's configuration (/etc/localtime and its kin on Unix, the registry on
    Windows). Read afresh on every call: tzlocal keeps a cache per process."""
    import warnings

    import tzlocal

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tzlocal.reload_localzone()
            name = tzlocal.get_localzone_name()
    except Exception:  # tzlocal raises several kinds when the configuration is odd
        return None
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


# -------------------------------------------------------------------------- networks
def _networks() -> list[type[Network]]:
    from cmctl.networks import registry

    return [registry.get(name) for name in registry.names()]


def _required(cls: type[Network]) -> list[AccountField]:
    return [f for f in cls.account_fields if f.required]


def local_network(networks: list[type[Network]]) -> type[Network]:
    """The network of the project's one active account: the first that publishes with
    local files only (no secret field required, every required field a local path)."""
    for cls in networks:
        required = _required(cls)
        if (
            cls.publishes
            and required
            and all(f.name in cls.local_paths and not f.secret for f in required)
        ):
            return cls
    raise UsageError("no installed network publishes to local files: cmctl init needs one")


def pick_networks(requested: str | None, networks: list[type[Network]]) -> list[type[Network]]:
    """The networks named in ``--networks a,b`` (every one when None); an unknown name
    is a UsageError that lists the known ones."""
    by_name = {cls.name: cls for cls in networks}
    if requested is None:
        return list(networks)
    names = [n.strip() for n in requested.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        shown = ", ".join(f"'{n}'" for n in unknown) or "nothing"
        raise UsageError(
            f"--networks: unknown network {shown}",
            hint="known networks: " + ", ".join(sorted(by_name)),
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def env_name(cls: type[Network], f: AccountField) -> str:
    """The variable a secret field is read from: MASTODON_TOKEN for a token, say."""
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{cls.name}_{f.name}").upper()


def _example(cls: type[Network], f: AccountField, account: str) -> str:
    """A value to write for field ``f``: ${VAR} for a secret, else an example the field
    declares (its ``example``, or "e.g. …" in its help), its default, a path
    under public/ for a local file, or a placeholder to fill in."""
    if f.secret:
        return "${" + env_name(cls, f) + "}"
    if f.example:
        return f.example
    match = _EXAMPLE.search(f.help)
    if match:
        return match[1]
    if f.default is not None:
        return f.default
    if f.name in cls.local_paths:
        ext = _EXTENSION.search(f.help)
        return f"public/{account}{ext[1] if ext else ''}"
    return '"<fill in>"'


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, 84 - len(indent))]


def _account_lines(cls: type[Network], account: str, fields: list[AccountField]) -> list[str]:
    lines = [f"{account}:", f"  network: {cls.name}"]
    for f in fields:
        what = "required" if f.required else "optional"
        if f.secret:
            what += f", secret (set {env_name(cls, f)} in .env)"
        lines += [line[2:] for line in _comment(f"{what}: {f.help}".rstrip(": "), "    ")]
        lines.append(f"  {f.name}: {_example(cls, f, account)}")
    return lines


def local_account(cls: type[Network]) -> tuple[str, str]:
    """(name, cmctl.yaml lines) of the project's active local account."""
    name = f"{ACCOUNT_PREFIX}-{cls.name}"
    head = _comment(
        f"{cls.title}: written on this machine, nothing leaves it, no account or "
        "secret needed. `cmctl publish` writes each post there.",
        "  ",
    )
    body = [f"  {line}" for line in _account_lines(cls, name, _required(cls))]
    return name, "\n".join([*head, *body]) + "\n"


def stanza(cls: type[Network]) -> str:
    """A commented account of network ``cls``, to uncomment and fill in."""
    name = f"{ACCOUNT_PREFIX}-{cls.name}"
    written = [f for f in cls.account_fields if f.required or f.secret]
    optional = [f.name for f in cls.account_fields if f not in written]
    title = cls.title if cls.publishes else f"{cls.title} (cmctl checks posts, cannot publish yet)"
    lines = [f"  # --- {title}"]
    lines += [f"  # {line}" for line in _account_lines(cls, name, written)]
    if optional:
        lines += [f"  #   # also: {', '.join(optional)} (see `cmctl accounts` and docs/config.md)"]
    return "\n".join(lines) + "\n"


def env_example(chosen: list[type[Network]]) -> str:
    lines = [
        "# Copy to .env (beside cmctl.yaml) and fill in. Never commit .env.",
        "# Only `cmctl publish` and `cmctl daemon` read these; `cmctl validate` and",
        "# `cmctl plan` need none. A variable set in the environment wins over .env.",
    ]
    for cls in chosen:
        for f in cls.account_fields:
            if f.secret:
                lines += ["", *_comment(f"{cls.title}: {f.help}", ""), f"{env_name(cls, f)}="]
    if len(lines) == 3:
        lines += ["", "# (the networks chosen need no secret)"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- image
def banner_png(width: int = 600, height: int = 315) -> bytes:
    """A small valid PNG: a dark green banner with a yellow stripe (the alt text of the
    starter calendar describes it)."""
    green, yellow = b"\x1f\x4e\x3d", b"\xf2\xc2\x2e"
    rows = b"".join(b"\x00" + (yellow if 220 <= y < 250 else green) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- project
def _template(name: str, values: dict[str, str]) -> str:
    text = (resources.files("cmctl") / "templates" / "init" / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def project_files(
    *, today: date, monday: date, timezone: str, networks: str | None = None
) -> dict[str, bytes]:
    """Relative path → content of every file of a new project."""
    from cmctl import __version__

    known = _networks()
    local = local_network(known)
    chosen = [cls for cls in pick_networks(networks, known) if cls is not local]
    account, account_lines = local_account(local)
    stanzas = "".join("\n" + stanza(cls) for cls in chosen)
    days = {
        name: (monday + timedelta(days=i)).isoformat()
        for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday"))
    }
    values = {
        "today": today.isoformat(),
        "timezone": timezone,
        "local_account": account_lines.rstrip("\n"),
        "stanzas": stanzas,
        "account": account,
        "calendar": CALENDAR,
        "version": __version__,
        **days,
    }
    texts = {
        "cmctl.yaml": _template("cmctl.yaml", values),
        ".env.example": env_example(chosen),
        f"calendars/{CALENDAR}.yaml": _template("calendar.yaml", values),
        ".gitignore": _template("gitignore", values),
        ".pre-commit-config.yaml": _template("pre-commit-config.yaml", values),
        WORKFLOW: _template("validate-calendars.yml", values),
    }
    files = {path: text.encode("utf-8") for path, text in texts.items()}
    files[IMAGE] = banner_png()
    return dict(sorted(files.items()))


@dataclass
class Written:
    root: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already there: left exactly as they were


def write_new(root: Path, files: dict[str, bytes]) -> Written:
    """Write each file that does not exist yet; never replace or change one that does
    (created exclusively, so a file appearing meanwhile is kept too)."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    done = Written(root)
    for relative, content in files.items():
        path = root / relative
        try:
            if path.exists() or path.is_symlink():
                done.kept.append(relative)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as out:
                out.write(content)
        except FileExistsError:
            done.kept.append(relative)
        except OSError as exc:
            raise UsageError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="check that the folder is writable",
            ) from None
        else:
            done.created.append(relative)
    return done
