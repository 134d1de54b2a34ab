"""cmctl.yaml: discovery, accounts, ${ENV} secrets, calendars, state folder, defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cmctl import spacing, timeutil, utm
from cmctl.diagnostics import Diagnostic, Sink
from cmctl.errors import ConfigError
from cmctl.queues import Queue, SlotProblem, parse_slot
from cmctl.shape import Checker, suggest
from cmctl.utm import Utm
from cmctl.yamlsrc import Map, Scalar, YamlProblem, load_file

CONFIG_NAMES = ("cmctl.yaml", "cmctl.yml")
DEFAULT_GLOBS = ("calendars/**/*.yaml", "calendars/**/*.yml")
DEFAULT_CATCH_UP = timedelta(hours=1)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

_duration = {
    "anyOf": [
        {
            "type": "string",
            "pattern": r"^(0|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$",
            "x-hint": "write a duration like 90s, 30m, 1h, 2h30m, 1d or 0",
        },
        {"type": "integer", "enum": [0]},
    ]
}
_strings = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "accounts": {"type": "object", "additionalProperties": {"type": "object"}},
        "calendars": _strings,
        "state": {"type": "string", "minLength": 1},
        "media_url": {"type": "string", "minLength": 1},
        "queues": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["slots"],
                "properties": {
                    "timezone": {"type": "string"},
                    "slots": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "accounts": _strings,
                },
            },
        },
        "blackout": spacing.BLACKOUT_SCHEMA,
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "timezone": {"type": "string"},
                "catch_up": _duration,
                "min_gap": _duration,
                "status": {"type": "string", "enum": ["approved", "draft"]},
                "utm": utm.SCHEMA,
            },
        },
    },
}
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class Account:
    """One account from cmctl.yaml. ``options`` holds values as written (``${VAR}`` kept)."""

    name: str
    network: str
    options: Mapping[str, Any]
    line: int = 0
    col: int = 0
    # ``min_gap:`` as written on the account (``0``: none, whatever the defaults say);
    # None: the defaults' (see Config.min_gap_for)
    min_gap: timedelta | None = None

    def __repr__(self) -> str:  # never show option values: some are secrets
        return f"Account(name={self.name!r}, network={self.network!r})"


@dataclass(slots=True)
class Config:
    path: Path
    root: Path  # folder of cmctl.yaml: relative paths and the project boundary
    accounts: dict[str, Account]
    calendar_globs: tuple[str, ...] = DEFAULT_GLOBS
    state_dir: Path = Path(".cmctl")
    timezone: str | None = None
    catch_up: timedelta = DEFAULT_CATCH_UP
    status: str = "approved"
    media_url: str | None = None  # public base URL of the project folder's files
    queues: dict[str, Queue] = field(default_factory=dict)
    utm: Utm | None = None  # defaults.utm: link tracking under every calendar's (cmctl/utm.py)
    min_gap: timedelta | None = None  # defaults.min_gap (cmctl.spacing)
    blackouts: spacing.Blackouts = field(default_factory=spacing.Blackouts)
    warnings: list[Diagnostic] = field(default_factory=list)
    dotenv: dict[str, str] = field(default_factory=dict, repr=False)

    def min_gap_for(self, account: str) -> timedelta | None:
        """The least time between two posts to ``account``: its own ``min_gap``, else
        ``defaults.min_gap``; None when there is none (or it is ``0``)."""
        own = self.accounts.get(account)
        gap = own.min_gap if own is not None and own.min_gap is not None else self.min_gap
        return gap or None

    @property
    def display_path(self) -> str:
        return display(self.path)

    def calendar_files(self) -> list[Path]:
        """Every calendar file the globs match, sorted, each once.

        Never cmctl.yaml, .env or any other dotfile or file in a hidden folder, nor
        anything in the state folder, whatever the globs say (see is_calendar_file).
        """
        found: dict[Path, None] = {}
        allowed = self._calendar_check()
        for pattern in self.calendar_globs:
            for path in sorted(self.root.glob(pattern)):
                if allowed(path):
                    found.setdefault(path, None)
        return list(found)

    def is_calendar_file(self, path: Path) -> bool:
        """May ``path`` be read as a calendar? A regular file that is not cmctl.yaml, not
        a dotfile or in a hidden folder (.env, .git/), not in the state folder: those
        hold secrets and must never be quoted in a diagnostic."""
        return self._calendar_check()(path)

    def _calendar_check(self) -> Callable[[Path], bool]:
        """``is_calendar_file`` with what does not depend on the file worked out once
        (the cron tick asks it of every calendar: string checks, one realpath a file)."""
        import stat

        from cmctl.realpath import Resolver

        realpath = Resolver()
        config_real = os.path.realpath(self.path)
        root = os.path.abspath(self.root)
        state = os.path.abspath(self.state_dir)

        def hidden(candidate: str) -> bool:
            inside = (
                candidate[len(root) + 1 :]
                if candidate.startswith(root + os.sep)
                else os.path.basename(candidate)
            )
            return any(part.startswith(".") for part in inside.split(os.sep))

        def allowed(path: Path) -> bool:
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):  # follows links: no FIFO, folder
                    return False
                absolute = os.path.abspath(path)
                real = realpath(path)  # links first, then '..' (abspath reads '..' as text)
            except (OSError, ValueError, RuntimeError):
                return False
            if (
                real in (config_real, state)
                or os.path.basename(real) in CONFIG_NAMES
                or real.startswith(state + os.sep)
            ):
                return False
            return not (hidden(absolute) or hidden(real))

        return allowed

    def calendar_name(self, path: Path) -> str:
        """A calendar's default name: its path under the calendars folder, no extension."""
        absolute = path.resolve()
        for pattern in self.calendar_globs:
            base = _glob_base(self.root, pattern)
            if absolute.is_relative_to(base):
                return absolute.relative_to(base).with_suffix("").as_posix()
        if absolute.is_relative_to(self.root):
            return absolute.relative_to(self.root).with_suffix("").as_posix()
        return absolute.stem

    def resolve(self, account: Account, key: str) -> Any:
        """An account option with ``${VAR}`` filled in from the environment or .env.

        A variable's value loses its surrounding whitespace (a secret file's final
        newline). A secret field must then be clean text of at least
        ``MIN_SECRET_LENGTH`` characters, or this raises a ConfigError that names the
        key and the variables, never the value. Every secret, and every value that came
        from a variable, is remembered so that no message ever shows it.
        """
        from cmctl import redact
        from cmctl.networks import registry

        value = account.options.get(key)
        if not isinstance(value, str):
            return value
        used: list[str] = []
        filled: list[str] = []

        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            found = os.environ.get(name, self.dotenv.get(name))
            if found is None:
                raise ConfigError(
                    f"account '{account.name}': {key} uses ${{{name}}}, which is not set",
                    hint=f"export {name}=… or add it to {display(self.root / '.env')}",
                )
            used.append(name)
            filled.append(found.strip())
            return found.strip()

        resolved = _VAR.sub(fill, value)
        spec = registry.get(account.network).field(key) if registry.known(account.network) else None
        if spec is not None and spec.secret:
            resolved = resolved.strip()
            problem = secret_problem(resolved)
            if problem is not None:
                where = (
                    " (from " + ", ".join(f"${{{n}}}" for n in dict.fromkeys(used)) + ")"
                    if used
                    else " (written in cmctl.yaml)"
                )
                raise ConfigError(
                    f"account '{account.name}': {key}{where} {problem}", hint=_SECRET_HINT
                )
            if "://" in resolved:  # a capability URL: the token sits in its path
                redact.remember(resolved, partial=False)  # its host stays readable
                redact.remember(resolved.split("://", 1)[1].partition("/")[2])
            else:
                redact.remember(resolved)
        for part in filled:  # a value kept out of the file is treated as a secret too
            if len(part) >= 4:
                redact.remember(part, partial=False)
        return resolved


_SECRET_HINT = (
    "the value is never shown; only surrounding whitespace (a final newline) is "
    "removed. Put the exact credential in the variable or in .env"
)


def secret_problem(value: str) -> str | None:
    """What makes ``value`` unusable as a secret, in words that never quote it (or None).

    Refused: an empty value, a control or invisible character anywhere (a newline or tab
    inside, a zero-width space) and anything shorter than ``MIN_SECRET_LENGTH``: no real
    token, app password or signing secret is that short, and a secret that short
    cannot be redacted from messages without mangling them.
    """
    import unicodedata

    from cmctl.redact import MIN_SECRET_LENGTH

    if not value:
        return "is empty"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        return "holds a control or invisible character (a line break, a tab, a zero-width space…)"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is too short to be a real credential (fewer than {MIN_SECRET_LENGTH} characters)"
    return None


def display(path: Path) -> str:
    """A path as users should read it: relative to the current folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _glob_base(root: Path, pattern: str) -> Path:
    parts = []
    for part in Path(pattern).parts:
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return (root / Path(*parts)).resolve() if parts else root.resolve()


def find(start: Path | None = None, explicit: str | None = None) -> Path:
    """Where cmctl.yaml is: ``--config``, then $CMCTL_CONFIG, then up from ``start``."""
    given = explicit or os.environ.get("CMCTL_CONFIG")
    if given:
        path = Path(given).expanduser()
        if path.is_dir():
            for name in CONFIG_NAMES:
                if (path / name).is_file():
                    return path / name
        if not path.is_file():
            raise ConfigError(f"config file {given} does not exist")
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    raise ConfigError(
        f"no cmctl.yaml in {here} or any folder above it",
        hint="run cmctl from your project folder, or pass --config PATH",
    )


def load(path: Path) -> Config:
    """Read and check cmctl.yaml. Raises ConfigError carrying every problem found."""
    shown = display(path)
    sink = Sink(shown, frame=False)  # cmctl.yaml may hold secrets: never quote it
    try:
        document = load_file(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror}") from None
    except YamlProblem as p:
        sink.error(p.line, p.col, p.message, p.rule)
        raise ConfigError(f"{shown} is not valid YAML", diagnostics=sink.items) from None
    for dup in document.duplicates:
        sink.error(
            dup.line,
            dup.col,
            f"duplicate key '{dup.key}' (first at line {dup.first_line})",
            "duplicate-key",
        )
    root_node = document.root
    config = Config(
        path=path,
        root=path.parent.resolve(),
        accounts={},
        state_dir=path.parent.resolve() / ".cmctl",
    )
    if root_node is None:  # an empty cmctl.yaml is a valid, empty project
        _finish(config, sink, shown)
        return config
    if not Checker(CONFIG_SCHEMA).check(root_node, sink) or not isinstance(root_node, Map):
        raise ConfigError(f"{shown} has errors", diagnostics=sink.items)

    accounts = root_node.get("accounts")
    if isinstance(accounts, Map):
        for name, node in accounts.items.items():
            account = _account(name, accounts.keys[name], node, sink)
            if account is not None:
                config.accounts[name] = account
    calendars = root_node.get("calendars")
    if isinstance(calendars, Scalar):
        config.calendar_globs = (str(calendars.value),)
    elif calendars is not None:
        config.calendar_globs = tuple(str(n.value) for n in calendars.items)  # type: ignore[attr-defined]
    state = root_node.get("state")
    if isinstance(state, Scalar):
        problem = _path_problem(str(state.value))
        if problem:
            sink.error(
                state.line,
                state.col,
                f"state: {problem}",
                "value",
                "write a folder path such as .cmctl",
            )
        else:
            config.state_dir = (config.root / str(state.value)).resolve()
    media_url = root_node.get("media_url")
    if isinstance(media_url, Scalar) and _url_checked(media_url, "media_url", sink):
        config.media_url = str(media_url.value).strip()
    config.blackouts = spacing.read_blackouts(root_node.get("blackout"), sink)
    defaults = root_node.get("defaults")
    if isinstance(defaults, Map):
        tz = defaults.get("timezone")
        if isinstance(tz, Scalar):
            try:
                timeutil.zone(str(tz.value))
                config.timezone = str(tz.value)
            except timeutil.TimeProblem as p:
                sink.error(tz.line, tz.col, p.message, p.rule, p.hint)
        catch_up = defaults.get("catch_up")
        if isinstance(catch_up, Scalar):
            try:  # the form is shape-checked above, the range here
                config.catch_up = timeutil.parse_duration(catch_up.value)
            except timeutil.TimeProblem as p:
                sink.error(catch_up.line, catch_up.col, p.message, p.rule, p.hint)
        config.min_gap = _gap(defaults.get("min_gap"), sink)
        status = defaults.get("status")
        if isinstance(status, Scalar):
            config.status = str(status.value)
        utm_node = defaults.get("utm")
        if isinstance(utm_node, Map):
            config.utm = utm.read(utm_node, sink)
    queues = root_node.get("queues")
    if isinstance(queues, Map):
        for name, node in queues.items.items():
            queue = _queue(name, queues.keys[name], node, config, sink)
            if queue is not None:
                config.queues[name] = queue
    _finish(config, sink, shown)
    return config


def _queue(name: str, key: Scalar, node: Any, config: Config, sink: Sink) -> Queue | None:
    """One queue of ``queues:`` (its shape already checked), or None after an error."""
    if not isinstance(node, Map):
        return None
    ok = True
    if not _ACCOUNT_NAME.match(name):
        sink.error(
            key.line,
            key.col,
            f"queue name '{name}' is not a name",
            "value",
            "use letters, digits, '-', '_' and '.'",
        )
        ok = False
    tz_node = node.get("timezone")
    tz = str(tz_node.value) if isinstance(tz_node, Scalar) else config.timezone
    if tz is None:
        sink.error(
            key.line,
            key.col,
            f"queue '{name}' has no time zone",
            "timezone",
            "add 'timezone: Europe/Paris' to the queue, or defaults.timezone",
        )
        ok = False
    else:
        try:
            timeutil.zone(tz)
        except timeutil.TimeProblem as p:
            where = tz_node if isinstance(tz_node, Scalar) else key
            sink.error(where.line, where.col, p.message, p.rule, p.hint)
            ok = False
    slots = []
    for item in getattr(node.get("slots"), "items", ()):
        try:
            slots.append(parse_slot(str(item.value)))
        except SlotProblem as p:
            sink.error(item.line, item.col, str(p), "queue-slot")
            ok = False
    accounts_node = node.get("accounts")
    accounts: tuple[str, ...] = ()
    if isinstance(accounts_node, Scalar):
        accounts = (str(accounts_node.value),)
    elif accounts_node is not None:
        accounts = tuple(str(n.value) for n in accounts_node.items)  # type: ignore[attr-defined]
    for account in accounts:
        if account not in config.accounts:
            spot = accounts_node or key
            sink.error(
                spot.line,
                spot.col,
                f"queue '{name}': unknown account '{account}'"
                + suggest(account, sorted(config.accounts)),
                "unknown-account",
            )
            ok = False
    if not ok or tz is None:
        return None
    return Queue(name, tz, tuple(slots), accounts)


def _finish(config: Config, sink: Sink, shown: str) -> None:
    errors = [d for d in sink.items if d.severity == "error"]
    if errors:
        raise ConfigError(f"{shown} has errors", diagnostics=sink.items)
    config.warnings = sink.items
    config.dotenv = _read_dotenv(config.root / ".env")


def _account(name: str, key: Scalar, node: Any, sink: Sink) -> Account | None:
    from cmctl.networks import registry

    if not _ACCOUNT_NAME.match(name):
        sink.error(
            key.line,
            key.col,
            f"account name '{name}' must be a simple name",
            "value",
            "use letters, digits, '-', '_' and '.' (e.g. brand-mastodon)",
        )
        return None
    network_node = node.get("network")
    if not isinstance(network_node, Scalar) or not isinstance(network_node.value, str):
        where = network_node or node
        sink.error(
            where.line,
            where.col,
            f"account '{name}' needs 'network: NAME'",
            "required",
            "one of: " + ", ".join(registry.names()),
        )
        return None
    network = network_node.value
    if not registry.known(network):
        sink.error(
            network_node.line,
            network_node.col,
            f"unknown network '{network}'" + suggest(network, registry.names()),
            "unknown-network",
            "one of: " + ", ".join(registry.names()),
        )
        return None
    from cmctl.networks.base import COMMON_FIELDS

    declared = registry.get(network)
    own = {f.name for f in declared.account_fields}
    common = [f for f in COMMON_FIELDS if f.name not in own]
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in declared.account_fields if f.required],
        "properties": {
            "network": {"type": "string"},
            # secret fields are checked below, by messages that never quote the value
            **{
                f.name: {}
                if f.secret
                else {"type": f.type, "enum": list(f.choices)}
                if f.choices
                else {"type": f.type, "minLength": 1}
                if f.type == "string"
                else {"type": f.type, "minimum": 1}
                for f in declared.account_fields
            },
            **{f.name: {"type": "string", "minLength": 1} for f in common},
            "min_gap": _duration,
        },
    }
    before = len(sink.items)
    Checker(schema).check(node, sink, f"accounts.{name}")
    plain: list[tuple[Scalar, str, str]] = []  # URLs that need HTTPS, warned about below
    for spec in (*common, *(f for f in declared.account_fields if f.url)):
        # api_url, media_url and the network's own URL fields: http(s) URLs
        value = node.items.get(spec.name)
        if isinstance(value, Scalar) and isinstance(value.value, str):
            label = f"accounts.{name}.{spec.name}"
            if _url_checked(value, label, sink) and spec.https:
                plain.append((value, label, spec.https))
    for spec in declared.account_fields:
        value = node.items.get(spec.name) if spec.secret else None
        if value is None:
            continue
        label = f"'accounts.{name}.{spec.name}'"
        if not isinstance(value, Scalar) or not isinstance(value.value, str):
            sink.error(
                value.line,
                value.col,
                f"{label} must be text (its value is not shown)",
                "type",
                f"write {spec.name}: ${{VARIABLE}} and set VARIABLE in the "
                "environment or in .env (a value written in the file must be quoted)",
            )
            continue
        problem = None if _VAR.search(value.value) else secret_problem(value.value.strip())
        if problem is not None:
            sink.error(value.line, value.col, f"{label} {problem}", "value", _SECRET_HINT)
    if len(sink.items) > before:
        return None
    for value, label, reason in plain:
        _https_checked(value, label, reason, sink)
    min_gap = _gap(node.get("min_gap"), sink)
    options: dict[str, Any] = {}
    for key_name, value in node.items.items():
        if key_name in ("network", "min_gap"):
            continue
        options[key_name] = value.value
        declared_field = declared.field(key_name)
        if (
            declared_field
            and declared_field.secret
            and isinstance(value.value, str)
            and not _VAR.search(value.value)
        ):
            sink.warning(
                value.line,
                value.col,
                f"{key_name} of account '{name}' is written in the file",
                "secret-in-config",
                f"keep secrets out of git: write {key_name}: ${{VARIABLE}} and set "
                "VARIABLE in the environment or in .env",
            )
    for spec in declared.account_fields:
        if spec.default is not None:
            options.setdefault(spec.name, spec.default)
    return Account(name, network, options, key.line, key.col, min_gap)


def _gap(node: Any, sink: Sink) -> timedelta | None:
    """A ``min_gap:`` (shape-checked already): its duration, or None when not written."""
    if not isinstance(node, Scalar):
        return None
    try:
        return timeutil.parse_duration(node.value)
    except timeutil.TimeProblem as p:
        sink.error(node.line, node.col, p.message, p.rule, p.hint)
        return None


def url_problem(text: str) -> str | None:
    """Why ``text`` cannot be a base URL cmctl calls or links to (never quoting it), or None.

    An http(s) URL with a host, without user:password@ (credentials belong in the
    account's secret fields, where they are redacted), a query or a fragment."""
    from urllib.parse import urlsplit

    value = text.strip()
    if not value or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "must be an http(s) URL without spaces or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http(s) URL (e.g. https://api.example.com)"
    if "@" in parts.netloc:
        return "must not hold a user name or password (user:password@)"
    if not parts.hostname:
        return "has no host"
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return "must not have a query (?...) or a fragment (#...)"
    return None


def _url_checked(node: Scalar, label: str, sink: Sink) -> bool:
    """Report ``node`` when it is not a usable base URL; True when it is (or a ${VAR})."""
    text = str(node.value)
    if _VAR.search(text):
        return True
    problem = url_problem(text)
    if problem is None:
        return True
    sink.error(
        node.line,
        node.col,
        f"'{label}' {problem}",
        "value",
        "write a base URL such as https://example.com/path (its value is not shown)",
    )
    return False


def _https_checked(node: Scalar, label: str, reason: str, sink: Sink) -> None:
    """Warn when ``node`` is a plain http:// URL to a host other than this machine."""
    from urllib.parse import urlsplit

    text = str(node.value).strip()
    if _VAR.search(text) or not text.lower().startswith("http://"):
        return
    if (urlsplit(text).hostname or "").lower() in ("localhost", "127.0.0.1", "::1"):
        return
    sink.warning(
        node.line,
        node.col,
        f"'{label}' is a plain http:// URL: {reason}",
        "insecure-url",
        "write its https:// address",
    )


def _path_problem(text: str) -> str | None:
    """Why ``text`` cannot be a path cmctl uses, or None."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        return "the path contains a control character"
    if len(text.encode("utf-8", "surrogatepass")) > 1024:
        return "the path is longer than 1024 bytes"
    if any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in Path(text).parts):
        return "a name in the path is longer than 255 bytes"
    return None


DOTENV_MAX_BYTES = 1024 * 1024


def _read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (optional `export`, quotes, # comments). Missing file: {}.

    Read only when it is a regular file of at most 1 MB (a FIFO must not hang cmctl);
    anything else is a ConfigError.
    """
    from cmctl.yamlsrc import read_bounded

    try:
        text = read_bounded(path, DOTENV_MAX_BYTES).decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"cannot read {display(path)}: {exc.strerror}",
            hint="make .env a regular file of KEY=VALUE lines, or remove it",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{display(path)} is not UTF-8 text") from None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values
