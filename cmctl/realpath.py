"""``os.path.realpath`` of many files in a few folders, each folder resolved once.

Resolving a path walks every one of its components (an ``lstat`` each). A project's
calendar files sit in a handful of folders, and loading one asks for each file's real
path several times (is it a calendar, its cache entry, its cache key): 1,000 files
cost 20,000 ``lstat`` calls. A file that is not itself a link is where its folder
really is: one ``lstat`` of the file, its folder's real path remembered. Meant for one
load (a folder link changed later is not seen by the same ``Resolver``).
"""

from __future__ import annotations

import os
import stat


class Resolver:
    __slots__ = ("_folders",)

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def __call__(self, path: str | os.PathLike[str]) -> str:
        """What ``os.path.realpath(path)`` gives (it raises what it raises)."""
        given = os.fspath(path)
        parts = given.split(os.sep)
        if not os.path.isabs(given):  # leading ../ from the working folder: real already
            while parts and parts[0] in ("..", ".", ""):
                del parts[0]
        if ".." in parts:  # after a name that may be a link: realpath resolves it first
            return os.path.realpath(given)
        absolute = os.path.abspath(given)
        folder, name = os.path.split(absolute)
        if not name or name in (".", ".."):
            return os.path.realpath(absolute)
        try:
            if stat.S_ISLNK(os.lstat(absolute).st_mode):
                return os.path.realpath(absolute)
        except OSError:  # missing, not a folder, no access: realpath's own answer
            return os.path.realpath(absolute)
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(folder)
        return os.path.join(real, name)
