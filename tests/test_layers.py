"""The shape of the house: imports run one way along the pipeline.

YAML → calendar model → compiled jobs → rules → ledger → publisher → network adapter
→ HTTP. A source scan (every import, lazy and TYPE_CHECKING ones included) keeps the
edges that once ran back up from coming back. `farm-studio look` shows the whole picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cmctl
from cmctl.calendar.model import Media, Pos
from cmctl.networks import registry
from cmctl.networks.base import Attachment, Outgoing, attachments

PACKAGE = Path(cmctl.__file__).parent


def imports(relative: str) -> set[str]:
    """Every cmctl module named by an import in cmctl/<relative> (a file or a folder)."""
    where = PACKAGE / relative
    files = sorted(where.rglob("*.py")) if where.is_dir() else [where]
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("cmctl")}


def named(found: set[str], *modules: str) -> set[str]:
    return {n for n in found if any(n == m or n.startswith(m + ".") for m in modules)}


# Stages that run after each of these, which it must not import.
LATER = ("cmctl.compile", "cmctl.rules", "cmctl.ledger", "cmctl.publish", "cmctl.settle")


@pytest.mark.parametrize(
    ("relative", "forbidden"),
    [
        # What a media file is: a leaf. The networks judge its facts, not the reverse.
        ("media.py", ("cmctl.networks", "cmctl.calendar", *LATER)),
        # The calendar knows nothing of the network contract nor of what runs after it.
        (
            "calendar",
            (
                "cmctl.networks.base",
                "cmctl.networks.http",
                "cmctl.networks.errors",
                *LATER,
            ),
        ),
        # The send errors are a leaf: the contract and the HTTP helper both use them.
        ("networks/errors.py", ("cmctl",)),
        # No base <-> http circle.
        ("networks/http.py", ("cmctl.networks.base",)),
        # Adapters see attachments, not the calendar's positioned Media.
        ("networks", ("cmctl.calendar", "cmctl.config", *LATER)),
    ],
)
def test_no_import_runs_back_up(relative: str, forbidden: tuple[str, ...]) -> None:
    assert named(imports(relative), *forbidden) == set()


def test_the_rules_judge_compiled_jobs_outside_the_calendar() -> None:
    assert not (PACKAGE / "calendar" / "rules.py").exists()
    assert "cmctl.rules" in imports("project.py")


def test_the_send_errors_are_still_named_by_the_contract() -> None:
    from cmctl.networks import base, errors

    for name in ("SendError", "Transient", "Permanent", "Ambiguous", "AuthExpired"):
        assert getattr(base, name) is getattr(errors, name)


def test_an_attachment_keeps_what_adapters_read_and_drops_the_position(tmp_path: Path) -> None:
    item = Media("a.png", tmp_path / "a.png", "A red rocket", Pos("dec.yaml", 3, 5), tmp_path)
    plain = Media("b.png", tmp_path / "b.png", None, Pos("dec.yaml", 4, 5))
    assert attachments((item, plain)) == (
        Attachment(tmp_path / "a.png", "A red rocket", tmp_path),
        Attachment(tmp_path / "b.png", None, None),
    )
    assert Attachment.from_media(item) == Attachment(tmp_path / "a.png", "A red rocket", tmp_path)
    assert not hasattr(Attachment.from_media(item), "pos")
    assert Outgoing.__annotations__["media"] == "tuple[Attachment, ...]"


# --- no network name in the core ---------------------------------------------------------
# The core learns what a network does from its declaration (cmctl/networks/), so a new
# network is one file. Code that branches on a name (`if network == "mastodon"`), looks
# one up (`registry.get("feed")`) or keeps a table keyed by names is caught here.
# Docstrings, comments and messages that merely mention a network are not code.

NETWORKS = frozenset(registry.names())
OUTSIDE_THE_CORE = ("networks", "text")  # the declarations, and counting the networks' way


def core_files() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in OUTSIDE_THE_CORE
    )


def _names_in(node: ast.AST) -> list[ast.Constant]:
    """String constants naming a network: the node itself or the items of a literal."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [
        c
        for c in items
        if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value in NETWORKS
    ]


def _shown_as_itself(key: ast.expr, value: ast.expr) -> bool:
    """{"threads": network.threads}: a declaration shown under its own name."""
    return (
        isinstance(key, ast.Constant)
        and isinstance(value, ast.Attribute)
        and value.attr == key.value
    )


def network_names_used_in_code(source: str) -> list[tuple[int, str]]:
    found: list[ast.Constant] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):  # x == "feed", x in ("x", "threads"), ...
            for operand in (node.left, *node.comparators):
                found += _names_in(operand)
        elif isinstance(node, ast.MatchValue):  # case "feed":
            found += _names_in(node.value)
        elif isinstance(node, ast.Call):  # registry.get("feed"), startswith(("x", ...))
            for arg in (*node.args, *(k.value for k in node.keywords)):
                found += _names_in(arg)
        elif isinstance(node, ast.Dict):  # {"mastodon": "masto", ...}
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and not _shown_as_itself(key, value):
                    found += _names_in(key)
    return sorted((c.lineno, c.value) for c in found)


@pytest.mark.parametrize(
    "source",
    [
        'if network == "mastodon":\n    pass\n',
        'if account.network in ("bluesky", "x"):\n    pass\n',
        'match network:\n    case "feed":\n        pass\n',
        'cls = registry.get("threads")\n',
        'SHORT = {"mastodon": "masto", "linkedin": "in"}\n',
    ],
)
def test_the_scan_finds_a_name_used_in_code(source: str) -> None:
    assert network_names_used_in_code(source) != []


def test_the_scan_leaves_words_and_messages_alone() -> None:
    source = (
        '"""Posts to Mastodon, Bluesky or a feed."""\n'
        'row = {"threads": network.threads}\n'
        'message = f"{x:02x} threads"\n'
        'hint = "e.g. https://mastodon.social/@you/1"\n'
    )
    assert network_names_used_in_code(source) == []


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=str(path.relative_to(PACKAGE))) for path in core_files()]
)
def test_no_network_name_in_the_core(path: Path) -> None:
    assert network_names_used_in_code(path.read_text(encoding="utf-8")) == []


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def test_no_circle_of_imports_anywhere() -> None:
    """No two cmctl modules import each other, directly or around a loop, counting lazy
    and TYPE_CHECKING imports: each file stands above everything it imports."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        edges[name] = {t for t in targets if t in modules and t != name and t != "cmctl"}
    on_stack: list[str] = []
    done: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        if node in on_stack:
            circles.append([*on_stack[on_stack.index(node) :], node])
            return
        if node in done:
            return
        on_stack.append(node)
        for target in sorted(edges.get(node, ())):
            visit(target)
        on_stack.pop()
        done.add(node)

    for module in sorted(modules):
        visit(module)
    assert circles == []
