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
