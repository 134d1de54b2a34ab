"""cmctl.realpath.Resolver answers what os.path.realpath answers, link by link."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmctl.realpath import Resolver


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "a.yaml").write_text("a")
    (tmp_path / "real" / "sub" / "b.yaml").write_text("b")
    (tmp_path / "linked").symlink_to(tmp_path / "real")  # a folder link
    (tmp_path / "real" / "to-b.yaml").symlink_to("sub/b.yaml")  # a file link, relative
    (tmp_path / "real" / "dangling.yaml").symlink_to("nowhere.yaml")
    (tmp_path / "real" / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "real" / "up").symlink_to("..")
    monkeypatch.chdir(tmp_path / "linked")
    return tmp_path


PATHS = [
    "real/a.yaml",
    "linked/a.yaml",
    "linked/sub/b.yaml",
    "linked/to-b.yaml",
    "linked/dangling.yaml",
    "linked/loop.yaml",
    "linked/missing.yaml",
    "linked/missing/deeper.yaml",
    "linked/a.yaml/not-a-folder",
    "linked/up/linked/a.yaml",
    "linked/sub/../a.yaml",
    "linked/.",
    "linked/..",
    "linked/",
    "linked",
]


@pytest.mark.parametrize("relative", PATHS)
def test_the_answer_of_realpath(tree: Path, relative: str) -> None:
    resolve = Resolver()
    for path in (str(tree / relative), relative.removeprefix("linked/") or "."):
        for _ in range(2):  # the folder remembered: the same answer the second time
            assert resolve(path) == os.path.realpath(path)
        assert resolve(Path(path)) == os.path.realpath(path)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths os.path.realpath is asked to resolve, from here on."""
    asked: list[str] = []
    real = os.path.realpath

    def counted(path: str, *args: Any, **kwargs: Any) -> str:
        asked.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os.path, "realpath", counted)
    return asked


def test_a_folder_is_resolved_once(tree: Path, calls: list[str]) -> None:
    resolve = Resolver()
    for name in ("a.yaml", "sub", "missing.yaml", "a.yaml"):
        resolve(tree / "linked" / name)
    assert calls == [str(tree / "linked"), str(tree / "linked" / "missing.yaml")]


# ------------------------------------------------- the review's cases: links and ..
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
    calls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``../shared/a.yaml`` (calendars beside the project): the working folder is real,
    so its leading ``..`` need no walk of their own: the folder is resolved once."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "project").mkdir()
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / "shared" / name).write_text("x")
    monkeypatch.chdir(tmp_path / "project")
    resolve = Resolver()
    want = {name: os.path.realpath(f"../shared/{name}") for name in ("a.yaml", "b.yaml")}
    calls.clear()
    for name in ("a.yaml", "b.yaml"):
        assert resolve(f"../shared/{name}") == want[name]
    assert calls == [str(tmp_path / "shared")]
