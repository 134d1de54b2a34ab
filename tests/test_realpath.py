"""cmctl.realpath.Resolver answers what os.path.realpath answers, link by link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
    for given in (str(tree / relative), relative.removeprefix("linked/") or "."):
        for _ in range(2):  # the folder remembered: the same answer the second time
            assert resolve(given) == os.path.realpath(given)
        assert resolve(Path(given)) == os.path.realpath(given)


def test_a_folder_is_resolved_once(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resolve = Resolver()
    calls: list[str] = []
    real = os.path.realpath

    def counted(path: str) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(os.path, "realpath", counted)
    for name in ("a.yaml", "sub", "missing.yaml", "a.yaml"):
        resolve(tree / "linked" / name)
    assert calls == [str(tree / "linked"), str(tree / "linked" / "missing.yaml")]
