"""Adversarial review of cmctl.realpath.Resolver: whatever the tree of links and however
the path is written, the answer is ``os.path.realpath``'s."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmctl.realpath import Resolver


def test_dot_dot_after_a_folder_link_is_taken_after_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``link/../a.yaml`` is ``a.yaml`` beside the link's target, not beside the link:
    realpath resolves the link before going up (abspath's lexical ``..`` does not)."""
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "a.yaml").write_text("the real one")
    (tmp_path / "a.yaml").write_text("a decoy beside the link")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    monkeypatch.chdir(tmp_path)
    for given_path in (
        "link/../a.yaml",
        "./link/../a.yaml",
        str(tmp_path / "link" / ".." / "a.yaml"),
        f"../{tmp_path.name}/link/../a.yaml",
    ):
        assert Resolver()(given_path) == os.path.realpath(given_path)
        assert Resolver()(given_path) == str(tmp_path / "real" / "a.yaml")


NAMES = ["a", "b", "c"]
# A small tree: folders, files and links (to a name, "..", ".", a deeper path, themselves).
TARGETS = st.sampled_from(["a", "b", "c", "..", ".", "a/b", "../a", "b/..", "/", "c/c"])
NODES = st.recursive(
    st.one_of(st.just("file"), st.tuples(st.just("link"), TARGETS)),
    lambda inner: st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
    max_leaves=8,
)
PATHS = st.lists(st.sampled_from([*NAMES, "..", "."]), min_size=1, max_size=5)


def _build(root: Path, node: object) -> None:
    if node == "file":
        root.write_text("x")
    elif isinstance(node, tuple):
        root.symlink_to(node[1])
    else:
        root.mkdir()
        assert isinstance(node, dict)
        for name, child in node.items():
            _build(root / name, child)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=st.dictionaries(st.sampled_from(NAMES), NODES, min_size=1, max_size=3), parts=PATHS)
def test_any_tree_of_links_any_path(tree: dict[str, object], parts: list[str]) -> None:
    base = Path(tempfile.mkdtemp())
    try:
        root = base / "t"
        _build(root, tree)
        resolve = Resolver()
        for relative in (os.path.join(*parts), os.path.join(*parts) + "/"):
            given_path = str(root / relative)
            for _ in range(2):  # remembered folders give the same answer
                assert resolve(given_path) == os.path.realpath(given_path), given_path
    finally:
        shutil.rmtree(base)


def test_leading_dot_dots_keep_the_folder_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``../shared/a.yaml`` (calendars beside the project): the working folder is real,
    so its leading ``..`` need no walk of their own: the folder is resolved once."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "project").mkdir()
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / "shared" / name).write_text("x")
    monkeypatch.chdir(tmp_path / "project")
    resolve = Resolver()
    calls: list[str] = []
    real = os.path.realpath

    def counted(path: str) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(os.path, "realpath", counted)
    for name in ("a.yaml", "b.yaml"):
        assert resolve(f"../shared/{name}") == real(f"../shared/{name}")
    assert calls == [str(tmp_path / "shared")]
