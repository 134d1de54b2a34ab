"""A per-file cache of compiled calendars, in the state folder (``.cmctl/.cache/``).

Loading, shape-checking, compiling and rule-checking a calendar file is the cost of every
command that reads the calendars (3.6 s of YAML alone for 100,000 posts). The result for
one file depends only on that file, a few other files and cmctl itself, so it is kept
per file and reused while none of them changed.

An entry holds exactly what ``project._process`` returns for the file (its packed form,
diagnostics included) and is reused only when all of these are the same as when it was
written:

- the calendar file: its path as given and resolved, size, mtime_ns, ctime_ns, inode,
  device (the identity of what was read);
- the project: the bytes of cmctl.yaml, its path, the current folder (messages show
  paths relative to it) and cmctl's version;
- the code: a fingerprint of cmctl's own files (every source and data file, network
  declarations and text counting included), the Python version, PyYAML (and libyaml),
  regex, Unicode, and every installed distribution with the stamp of its entry points
  (third-party networks register there), computed once per process;
- every file the result depends on besides the calendar: each media file a post
  references (content hashes include its bytes, the rules its type and size) and each
  time zone's data file, by the same stat fields;
- the moment: the only rule that depends on ``now`` is ``past`` (an approved post whose
  time has gone by). An entry stores the window of moments over which its result holds
  (from the latest post time before the ``now`` it was compiled at, excluded, to the
  earliest one at or after it, included): inside it no post changes side, so the result
  is exact. A file whose posts are all in the past, or all ahead, is valid until or
  since then; a file is recompiled once when one of its posts goes by.

Not written when any of those files was modified less than ``RACY_NS`` before it was
read (a file saved twice within one timestamp tick would look unchanged).

An entry is a head (what the cache checks, and the result's small parts) followed by
sections (the result's large parts: its jobs, what the project-wide checks need), each
with its own SHA-256 in the head: `peek` reads only the head and hands back sections
read when they are wanted (`plan` shows the first rows before the rest is read).

Trust: entries are pickles, so they are read only from a folder only this user can
write. The state folder must be owned by this user and not writable by others; the
``.cache`` folder inside it is created 0700 and must be owned by this user and not
writable by group or others; each entry must be a regular file (never followed if a
link) owned by this user and not writable by others. Everything is opened relative to
the folder's descriptor. Anything else, or a missing state folder, means no cache: a
command that only reads never creates the state folder. An entry that is truncated,
corrupt (its SHA-256 is checked), of another format, or stale is ignored and rewritten
(temp file, then rename). Entries of files no longer in the project are removed after a
whole-project load. Entries hold compiled jobs (texts, media paths, account names) and
diagnostics: never an account's options, so never a secret. Not used on Windows.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmctl.realpath import Resolver

if TYPE_CHECKING:
    from cmctl.calendar.model import Calendar
    from cmctl.config import Config

# Hidden, like every auxiliary file of the state folder: what users look at there (and
# what the damaged-ledger checks compare) is the ledger.
FOLDER = ".cache"
# 2: a file's jobs are one pickle of their own (project.Rows); 3: and their last place;
# 4: a head and sections, each with its own SHA-256, so the head can be read alone
FORMAT = 4
MAGIC = b"cmctl-cache\n"
# magic, format (4 bytes big-endian), the head's sha256 and length (8 bytes big-endian)
HEADER = len(MAGIC) + 4 + 32 + 8
HEAD_READ = 64 * 1024  # what one read takes of an entry when only its head is wanted
MAX_ENTRY = 256 * 1024 * 1024
RACY_NS = 2_000_000_000  # 2 s: coarse file systems (FAT) keep mtimes to 2 s
STALE_TEMP_NS = 3600 * 1_000_000_000
SUFFIX = ".entry"
TEMP_PREFIX = ".tmp-"

# A file's identity as cmctl read it; None when it is missing.
Stamp = tuple[int, ...] | None
# (what, its stamp): media files and zone data files a result depends on.
Deps = tuple[tuple[str, Stamp], ...]
# What _process learnt beyond its result: dependencies, validity window, storable.
Facts = tuple[Deps, datetime | None, datetime | None, bool]


def _uid() -> int:
    return os.geteuid()


def stamp(path: str | os.PathLike[str]) -> Stamp:
    """Size, times and identity of ``path`` (followed, and of the link itself)."""
    try:
        st = os.stat(path)
        ln = os.lstat(path)
    except (OSError, ValueError):
        return None
    return (
        st.st_mode,
        st.st_ino,
        st.st_dev,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        ln.st_ino,
        ln.st_mtime_ns,
    )


def _recent(found: Stamp, started_ns: int) -> bool:
    """Modified (mtime: what a save changes) less than RACY_NS before ``started_ns``."""
    return found is not None and found[4] > started_ns - RACY_NS


@cache
def _zone_file(key: str) -> str:
    """Where ZoneInfo reads zone ``key`` from: the system's TZPATH, else tzdata."""
    import zoneinfo

    for folder in zoneinfo.TZPATH:
        candidate = os.path.join(folder, key)
        if os.path.isfile(candidate):
            return candidate
    try:
        import importlib.resources

        parts = key.split("/")
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*parts)
        return str(resource)
    except Exception:  # no tzdata package: the zone cannot change under us
        return "tzdata:" + key


def facts(calendar: Calendar | None, now: datetime, started_ns: int) -> Facts:
    """What a result read besides its calendar file, and the window it holds for.

    Called after the calendar is loaded and before it is compiled (media digests)."""
    if calendar is None:
        return ((), None, None, True)
    media: dict[str, None] = {}
    zones: dict[str, None] = {calendar.timezone: None} if calendar.timezone else {}
    lo: datetime | None = None
    hi: datetime | None = None
    for post in calendar.posts:
        at = post.at
        if at < now:
            if lo is None or at > lo:
                lo = at
        elif hi is None or at < hi:
            hi = at
        key = getattr(post.local.tzinfo, "key", None)
        if key:
            zones[key] = None
        for content in (post.content, *post.variants.values()):
            for item in content.media or ():
                media[str(item.path)] = None
            for part in content.thread or ():
                for item in part.media:
                    media[str(item.path)] = None
    deps: list[tuple[str, Stamp]] = []
    storable = True
    for path in media:
        found = stamp(path)
        storable = storable and not _recent(found, started_ns)
        deps.append((path, found))
    for key in zones:
        where = _zone_file(key)
        deps.append((where, stamp(where)))
    return (tuple(deps), lo, hi, storable)


@cache
def _code() -> bytes:
    """Everything in this process that makes a compiled result what it is."""
    import unicodedata

    import yaml

    h = hashlib.sha256()
    h.update(repr((sys.version, sys.implementation.cache_tag)).encode())
    # regex's version is its distribution's (``_installed``): not imported for it (30 ms)
    h.update(repr((yaml.__version__, yaml.__with_libyaml__)).encode())
    h.update(unicodedata.unidata_version.encode())
    package = Path(__file__).resolve().parent
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(folder, name)
            h.update(f"{os.path.relpath(path, package)}\0{stamp(path)}\0".encode())
    _installed(h)
    return h.digest()


def _installed(h: Any) -> None:
    """Every distribution Python can import from a folder (its folder's name: name and
    version) and the stamp of its entry points, where networks are registered: pip
    adding, upgrading or removing one changes the fingerprint. Folder listings, without
    importing importlib.metadata (50 ms, more than the rest of the fingerprint); folders
    without a distribution (a script's, the working folder) count for nothing. An egg on
    the path (a folder or a zip, easy_install's) is a distribution too: its EGG-INFO."""
    for folder in sys.path:
        if folder.endswith(".egg"):  # a zip's stamp; a folder's changes as it is imported
            points = stamp(os.path.join(folder, "EGG-INFO", "entry_points.txt"))
            whole = stamp(folder) if os.path.isfile(folder) else None
            h.update(f"{folder}\0{whole}\0{points}\0".encode())
            continue
        try:
            with os.scandir(folder or ".") as found:
                names = sorted(e.name for e in found if e.name.endswith(_DISTRIBUTIONS))
        except OSError:  # a zip file, a missing folder
            continue
        if names:
            h.update(f"{folder}\0".encode())
        for name in names:
            points = stamp(os.path.join(folder or ".", name, "entry_points.txt"))
            h.update(f"{name}\0{points}\0".encode())


_DISTRIBUTIONS = (".dist-info", ".egg-info", ".egg-link")


def environment(config: Config) -> bytes:
    """The digest every entry of this run must carry (see the module docstring)."""
    import cmctl

    h = hashlib.sha256(_code())
    try:
        config_bytes = config.path.read_bytes()
    except OSError:
        config_bytes = b"\0unreadable"
    h.update(hashlib.sha256(config_bytes).digest())
    h.update(f"{cmctl.__version__}\0{config.path}\0{config.root}\0{Path.cwd()}".encode())
    return h.digest()


class FileCache:
    """The open cache folder of one project (see the module docstring)."""

    def __init__(self, fd: int, env: bytes) -> None:
        self.fd = fd
        self.env = env
        # Closed by ``close``, or once nothing refers to the cache (a lazy project's
        # sections do, for as long as they live).
        self._closer = weakref.finalize(self, _close_quietly, fd)
        self.real = Resolver()  # calendar files' real paths, their folders resolved once
        # Asked again for each file (its entry's name, its key, the prune): answered once
        # a run, as the stamps of the media and zone files many entries depend on.
        self._reals: dict[Path, str] = {}
        self._stamps: dict[str, Stamp] = {}

    @classmethod
    def open(cls, config: Config) -> FileCache | None:
        """The cache, or None: no state folder, not POSIX, or a folder not safe to read."""
        if os.name != "posix" or not hasattr(os, "O_NOFOLLOW"):
            return None
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        try:
            state = os.open(config.state_dir, flags)
        except (OSError, ValueError):
            return None  # never created here: read-only commands create nothing
        try:
            st = os.fstat(state)
            if st.st_uid != _uid() or (st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX):
                return None
            with contextlib.suppress(FileExistsError):
                os.mkdir(FOLDER, 0o700, dir_fd=state)
            fd = os.open(FOLDER, flags | os.O_NOFOLLOW, dir_fd=state)
        except OSError:
            return None
        finally:
            os.close(state)
        try:
            st = os.fstat(fd)
            if st.st_uid != _uid() or st.st_mode & 0o022:
                os.close(fd)
                return None
            return cls(fd, environment(config))
        except Exception:
            os.close(fd)
            return None

    def clock(self) -> int:
        """The file system's clock, in ns: what the next file written would get as mtime.

        Touching the cache folder asks the kernel; a faked clock (tests) cannot move it."""
        try:
            os.utime(self.fd)
            return os.fstat(self.fd).st_mtime_ns
        except OSError:
            return 1 << 62  # every file looks recent: nothing is stored

    def close(self) -> None:
        self._closer()
        self.fd = -1  # never a descriptor number reused since

    def slot(self, path: Path) -> str:
        """The entry's name: one per calendar file, however its path is written."""
        try:
            real = self._real(path)
        except (OSError, ValueError, RuntimeError):
            real = str(path)
        return hashlib.sha256(os.fsencode(real)).hexdigest()[:40] + SUFFIX

    def key(self, path: Path) -> tuple[object, ...] | None:
        """The calendar file's identity, taken before it is read."""
        try:
            resolved = self._real(path)
        except (OSError, ValueError, RuntimeError):
            return None
        found = stamp(path)
        return None if found is None else (str(path), resolved, found)

    def _real(self, path: Path) -> str:
        found = self._reals.get(path)
        if found is None:
            found = self._reals[path] = self.real(path)
        return found

    def _stamp(self, where: str) -> Stamp:
        if where not in self._stamps:
            self._stamps[where] = stamp(where)
        return self._stamps[where]

    def peek(self, path: Path, now: datetime) -> tuple[Any, list[Section]] | None:
        """What was stored for ``path`` (its head's result part, and its sections), or
        None: missing, stale, damaged... Only the head is read here: each section is read
        (and its SHA-256 checked) when asked for, from the entry as it is then."""
        name = self.slot(path)
        fd = self._open_entry(name)
        if fd is None:
            return None
        try:
            data = os.pread(fd, HEAD_READ, 0)
            if len(data) >= HEADER:
                wanted = HEADER + int.from_bytes(data[HEADER - 8 : HEADER], "big")
                if len(data) < wanted <= MAX_ENTRY:
                    data += os.pread(fd, wanted - len(data), len(data))
        except OSError:
            return None
        finally:
            os.close(fd)
        found = self._valid(path, now, data)
        if found is None:
            return None
        meta, spans, offset = found
        sections = []
        for length, digest in spans:
            sections.append(Section(self, name, offset, length, digest))
            offset += length
        return meta, sections

    def _valid(self, path: Path, now: datetime, data: bytes) -> tuple[Any, Any, int] | None:
        """(the head's result part, its sections' lengths and digests, where they start)
        when ``data`` begins with a sound head that holds for ``path`` at ``now``."""
        if len(data) < HEADER or not data.startswith(MAGIC):
            return None
        at = len(MAGIC)
        if int.from_bytes(data[at : at + 4], "big") != FORMAT:
            return None  # another cmctl's format: rewritten with ours
        length = int.from_bytes(data[HEADER - 8 : HEADER], "big")
        body = data[HEADER : HEADER + length]
        if len(body) != length or hashlib.sha256(body).digest() != data[at + 4 : at + 36]:
            return None
        try:
            entry = pickle.loads(body)
            if not (isinstance(entry, tuple) and len(entry) == 7):
                return None
            env, key, deps, lo, hi, meta, spans = entry
            if env != self.env or key is None or key != self.key(path):
                return None
            if (lo is not None and not lo < now) or (hi is not None and not now <= hi):
                return None
            for where, was in deps:
                if self._stamp(where) != was:
                    return None
            if not all(type(n) is int and n >= 0 and isinstance(d, bytes) for n, d in spans):
                return None
            if HEADER + length + sum(n for n, _ in spans) > MAX_ENTRY:
                return None  # never more than an entry may hold (a read that size fails)
        except Exception:  # whatever an entry holds, it is never trusted over the file
            return None
        return meta, tuple(spans), HEADER + length

    def _open_entry(self, name: str) -> int | None:
        """A descriptor of entry ``name`` when it is a regular file of ours, not writable
        by others and of a sane size (never a link, a FIFO or a device)."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, dir_fd=self.fd)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            return None
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != _uid()
            or st.st_mode & 0o022
            or not HEADER <= st.st_size <= MAX_ENTRY
        ):
            os.close(fd)
            return None
        return fd

    def put(
        self,
        path: Path,
        key: tuple[object, ...] | None,
        found: Facts,
        meta: Any,
        sections: Sequence[bytes] = (),
    ) -> None:
        """Store ``meta`` and ``sections`` for ``path`` as read with identity ``key``
        (never raises)."""
        deps, lo, hi, storable = found
        if key is None or not storable:
            return
        temp = f"{TEMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}"
        try:
            spans = tuple((len(b), hashlib.sha256(b).digest()) for b in sections)
            body = pickle.dumps((self.env, key, deps, lo, hi, meta, spans), protocol=5)
            head = (
                MAGIC
                + FORMAT.to_bytes(4, "big")
                + hashlib.sha256(body).digest()
                + len(body).to_bytes(8, "big")
            )
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(temp, flags, 0o600, dir_fd=self.fd)
            try:
                with os.fdopen(os.dup(fd), "wb") as f:
                    f.write(head)
                    f.write(body)
                    for section in sections:
                        f.write(section)
            finally:
                os.close(fd)
            os.replace(temp, self.slot(path), src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except Exception:  # a full disk, a vanished folder: no entry, nothing else
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=self.fd)

    def prune(self, files: Iterable[Path]) -> None:
        """Remove the entries of files no longer in the project, and old temp files."""
        wanted = {self.slot(path) for path in files}
        limit = self.clock() - STALE_TEMP_NS
        try:
            with os.scandir(self.fd) as entries:
                names = [(e.name, e) for e in entries]
            for name, e in names:
                if name in wanted:
                    continue
                if name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(OSError):
                        if e.stat(follow_symlinks=False).st_mtime_ns > limit:
                            continue  # another process may be writing it
                with contextlib.suppress(OSError):
                    if e.is_dir(follow_symlinks=False):
                        continue  # not ours to remove
                    os.unlink(name, dir_fd=self.fd)
        except OSError:
            return


class Section:
    """One section of an entry (``FileCache.peek``), read when asked for."""

    __slots__ = ("digest", "length", "name", "offset", "store")

    def __init__(self, store: FileCache, name: str, offset: int, length: int, digest: bytes):
        self.store = store
        self.name = name
        self.offset = offset
        self.length = length
        self.digest = digest

    def read(self) -> bytes | None:
        """The section's bytes, or None when the entry no longer holds them (rewritten
        since its head was read, removed, damaged)."""
        fd = self.store._open_entry(self.name)
        if fd is None:
            return None
        try:
            data = os.pread(fd, self.length, self.offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) != self.length or hashlib.sha256(data).digest() != self.digest:
            return None
        return data


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def recent(key: tuple[object, ...] | None, started_ns: int) -> bool:
    """Was the calendar file modified too close to when it was read to be trusted?"""
    if key is None:
        return True
    found = key[2]
    return not isinstance(found, tuple) or _recent(found, started_ns)
