"""A project = cmctl.yaml + its calendars, loaded, compiled and checked.

The work is done per calendar file (load → compile → rules), which is independent
from file to file: the same function runs in-process, or on a pool of forked workers
when the project is large and the caller only needs the diagnostics (validate).
"""

from __future__ import annotations

import contextlib
import heapq
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cmctl import cache as cache_mod
from cmctl import config as config_mod
from cmctl import gcpause
from cmctl.cache import FileCache
from cmctl.calendar.loader import load_calendar
from cmctl.calendar.model import Calendar, Content, Pos, Post
from cmctl.compile import Job, compile_jobs
from cmctl.config import Config, display
from cmctl.diagnostics import Diagnostic, Report, Sink
from cmctl.errors import UsageError
from cmctl.rules import check, check_quotas

# Below this many bytes of calendars, starting workers costs more than it saves.
PARALLEL_MIN_BYTES = 512 * 1024
KEEP_BATCH = 16  # files per task when the jobs come back


@dataclass(slots=True)
class Project:
    config: Config
    files: list[Path]
    calendars: list[Calendar] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    post_count: int = 0
    job_count: int = 0

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.report.sorted()


@dataclass(slots=True)
class _FileResult:
    calendar: Calendar | None
    name: str | None
    display: str
    jobs: list[Job]
    diagnostics: list[Diagnostic]
    posts: int
    job_count: int
    # (account, part, UTC time, content hash) -> where: to find one post in two places
    twins: list[tuple[tuple[str, int, datetime, str], tuple[int, int, str]]] = field(
        default_factory=list
    )  # and the job key: one post in two places, two keys


def load_config(explicit: str | None = None) -> Config:
    return config_mod.load(config_mod.find(explicit=explicit))


def open_project(
    config: Config,
    paths: tuple[str, ...] = (),
    *,
    now: datetime,
    keep: bool = True,
    workers: int | None = None,
) -> Project:
    """Load, compile and check the calendars (all of them, or those under ``paths``).

    Large projects are checked by ``workers`` forked processes (None = one per CPU).
    ``keep=False``: only diagnostics and counts are wanted (no calendars or jobs).
    Kept calendars and jobs are light: a calendar without its posts, and jobs whose
    post keeps its identity, times, status and positions but not its YAML content
    (each job carries its own text and media).
    """
    with gcpause.paused():
        return _open(config, paths, now=now, keep=keep, workers=workers)


def _open(
    config: Config, paths: tuple[str, ...], *, now: datetime, keep: bool, workers: int | None
) -> Project:
    files = _select(config, paths)
    project = Project(config=config, files=files)
    project.report.extend(config.warnings)
    store = FileCache.open(config)  # None without a state folder: nothing is created
    try:
        results = _run(config, files, now, keep, workers, store)
        if store is not None and not paths:
            store.prune(files)
    finally:
        if store is not None:
            store.close()
    seen: dict[str, str] = {}
    _same_post_twice(project, results)
    project.report.extend(check_quotas(config, ((r.display, r.twins) for r in results)))
    for result in results:
        project.report.extend(result.diagnostics)
        project.post_count += result.posts
        project.job_count += result.job_count
        if result.calendar is not None:
            project.calendars.append(result.calendar)
        if result.name is not None:
            first = seen.setdefault(result.name, result.display)
            if first != result.display:  # job identities would collide
                project.report.add(
                    Diagnostic(
                        result.display,
                        1,
                        1,
                        "error",
                        f"calendar name '{result.name}' is already used by {first}",
                        "duplicate-calendar",
                        "set a distinct 'calendar:' in one of them",
                    )
                )
    if keep:
        project.jobs = list(heapq.merge(*(r.jobs for r in results), key=_job_order))
    return project


def _job_order(job: Job) -> tuple[datetime, str, str, str, int]:
    return (job.post.at, job.post.calendar, job.post.id, job.account, job.part)


def _process(config: Config, path: Path, now: datetime, keep: bool) -> _FileResult:
    return _compile(config, path, now, keep, None)[0]


def _cached(config: Config, path: Path, now: datetime, store: FileCache) -> Any:
    """``path``'s packed result (keep=True), computed and stored unless it was cached."""
    key = store.key(path)
    started = store.clock()
    result, found = _compile(config, path, now, True, started)
    packed = _pack(result)
    if found is not None and not cache_mod.recent(key, started):
        store.put(path, key, found, packed)
    return packed


def _compile(
    config: Config, path: Path, now: datetime, keep: bool, started: int | None
) -> tuple[_FileResult, cache_mod.Facts | None]:
    """The file's result, and what the cache needs to know of it (when ``started``)."""
    sink = Sink(display(path))
    calendar = load_calendar(path, config, sink, now)
    # Media and zone files are stamped before compiling reads them (content hashes).
    found = cache_mod.facts(calendar, now, started) if started is not None else None
    if calendar is None:
        return _FileResult(None, None, sink.path, [], sink.items, 0, 0), found
    jobs = compile_jobs([calendar], config)
    diagnostics = sink.items + check([calendar], jobs, config, now)
    posts = len(calendar.posts)
    twins = [
        ((j.account, j.part, j.at, j.content_hash), (j.post.pos.line, j.post.pos.col, j.key))
        for j in jobs
        if j.status != "draft"
    ]
    if not keep:
        result = _FileResult(
            None, calendar.name, sink.path, [], diagnostics, posts, len(jobs), twins
        )
        return result, found
    light = Calendar(calendar.name, calendar.path, calendar.display, calendar.timezone)
    result = _FileResult(
        light, calendar.name, sink.path, _light_jobs(jobs), diagnostics, posts, len(jobs), twins
    )
    return result, found


def _drop(result: _FileResult) -> _FileResult:
    """keep=False's form of a kept result: no calendar, no jobs."""
    return _FileResult(
        None,
        result.name,
        result.display,
        [],
        result.diagnostics,
        result.posts,
        result.job_count,
        result.twins,
    )


_NO_CONTENT = Content()  # shared by every light post: nothing reads it after the rules


def _light_post(post: Post) -> Post:
    return Post(
        post.calendar,
        post.id,
        post.at,
        post.local,
        post.accounts,
        _NO_CONTENT,
        {},
        post.status,
        post.catch_up,
        post.lang,
        post.pos,
        post.accounts_pos,
        post.at_pos,
    )


def _light_jobs(jobs: list[Job]) -> list[Job]:
    """The jobs, their posts without content and variants (memory: the daemon keeps them)."""
    light: dict[int, Post] = {}
    for job in jobs:
        slim = light.get(id(job.post))
        if slim is None:
            slim = light[id(job.post)] = _light_post(job.post)
        job.post = slim
    return jobs


# Jobs cross from a worker as plain tuples: pickled by C code, unlike slotted dataclasses.
def _pack(result: _FileResult) -> tuple[object, ...]:
    posts: dict[int, int] = {}
    post_rows: list[tuple[object, ...]] = []
    job_rows: list[tuple[object, ...]] = []
    for job in result.jobs:
        post = job.post
        index = posts.get(id(post))
        if index is None:
            index = posts[id(post)] = len(post_rows)
            post_rows.append(
                (
                    post.calendar,
                    post.id,
                    post.at,
                    post.local,
                    post.accounts,
                    post.status,
                    post.catch_up,
                    post.lang,
                    tuple(post.pos),
                    tuple(post.accounts_pos),
                    tuple(post.at_pos),
                )
            )
        job_rows.append(
            (
                job.key,
                index,
                job.account,
                job.network,
                job.part,
                job.parts,
                job.text,
                job.media,
                job.length,
                job.limit,
                job.content_hash,
                tuple(job.pos),
                job.problems,
                job.title,
                job.link,
                job.tags,
            )
        )
    calendar = result.calendar
    head = None
    if calendar is not None:
        head = (calendar.name, calendar.path, calendar.display, calendar.timezone)
    return (
        head,
        result.name,
        result.display,
        result.diagnostics,
        result.posts,
        result.job_count,
        result.twins,
        post_rows,
        job_rows,
    )


def _unpack(packed: Any) -> _FileResult:
    head, name, shown, diagnostics, posts, job_count, twins, post_rows, job_rows = packed
    calendar = Calendar(*head) if head is not None else None
    made = [
        Post(c, i, at, lo, acc, _NO_CONTENT, {}, st, cu, lang, Pos(*p), Pos(*ap), Pos(*tp))
        for c, i, at, lo, acc, st, cu, lang, p, ap, tp in post_rows
    ]
    jobs = [
        Job(k, made[i], a, n, part, parts, text, media, length, limit, h, Pos(*pos), *rest)
        for k, i, a, n, part, parts, text, media, length, limit, h, pos, *rest in job_rows
    ]
    return _FileResult(calendar, name, shown, jobs, diagnostics, posts, job_count, twins)


def _same_post_twice(project: Project, results: list[_FileResult]) -> None:
    """The same text at the same time on the same account, from two posts (a file
    copied, a post pasted twice): each has its own identity, so both would go out."""
    first: dict[tuple[str, int, datetime, str], tuple[str, int, int, str]] = {}
    warned: set[tuple[str, int, int]] = set()
    for result in results:
        for what, (line, col, key) in result.twins:
            other = first.setdefault(what, (result.display, line, col, key))
            if other[3] == key:
                continue  # itself, or the same identity twice (duplicate-calendar says it)
            if (result.display, line, col) in warned:
                continue
            warned.add((result.display, line, col))
            project.report.add(
                Diagnostic(
                    result.display,
                    line,
                    col,
                    "warning",
                    f"{key.split('#')[0]} has the same text, time and account as "
                    f"{other[3].split('#')[0]} ({other[0]}:{other[1]}): both would be published",
                    "same-post-twice",
                    "remove one of them, or change its time or text",
                )
            )


def _process_many(
    config: Config, paths: list[Path], now: datetime, keep: bool, store: FileCache | None = None
) -> list[Any]:
    if store is not None:  # stored and sent back in their packed form, kept or not
        return [_cached(config, p, now, store) for p in paths]
    if keep:
        return [_pack(_process(config, p, now, keep=True)) for p in paths]
    return [_process(config, p, now, keep=False) for p in paths]


def _run(
    config: Config,
    files: list[Path],
    now: datetime,
    keep: bool,
    workers: int | None,
    store: FileCache | None = None,
) -> list[_FileResult]:
    if store is None:
        return _compute(config, files, now, keep, workers, None)
    found: dict[Path, _FileResult] = {}
    missing: list[Path] = []
    for path in files:
        packed = store.get(path, now)
        result = None
        if packed is not None:
            with contextlib.suppress(Exception):  # a well-formed entry of another shape
                result = _unpack(packed)
        if result is None:
            missing.append(path)
        else:
            found[path] = result if keep else _drop(result)
    if missing:
        found.update(
            zip(missing, _compute(config, missing, now, keep, workers, store), strict=True)
        )
    return [found[path] for path in files]


def _compute(
    config: Config,
    files: list[Path],
    now: datetime,
    keep: bool,
    workers: int | None,
    store: FileCache | None,
) -> list[_FileResult]:
    """Each file's result, computed (and stored in ``store``, when given)."""
    count = _worker_count(workers)
    if count < 2 or len(files) < 2 or _size(files) < PARALLEL_MIN_BYTES:
        if store is not None:
            results = [_unpack(_cached(config, path, now, store)) for path in files]
            return results if keep else [_drop(r) for r in results]
        return [_process(config, path, now, keep) for path in files]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    groups = _balance(files, count)
    packed = keep or store is not None
    if packed:  # small batches: each one's pickled jobs are freed once unpacked (peak memory)
        batches = [
            group[i : i + KEEP_BATCH] for group in groups for i in range(0, len(group), KEEP_BATCH)
        ]
    else:
        batches = groups
    context = multiprocessing.get_context("fork")
    by_path: dict[Path, _FileResult] = {}
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = {pool.submit(_process_many, config, b, now, keep, store): b for b in batches}
        for future in as_completed(futures):
            batch = futures.pop(future)
            results = future.result()
            if packed:
                results = [_unpack(one) for one in results]
                if not keep:
                    results = [_drop(one) for one in results]
            by_path.update(zip(batch, results, strict=True))
            del future, results
    return [by_path[path] for path in files]


def _worker_count(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if "fork" not in _start_methods():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 8)


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _size(files: list[Path]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):  # unreadable files are reported by the loader
            total += path.stat().st_size
    return total


def _balance(files: list[Path], count: int) -> list[list[Path]]:
    """Split files into ``count`` groups of about equal size (largest first)."""
    groups: list[tuple[int, int, list[Path]]] = [(0, i, []) for i in range(count)]
    sized = sorted(((_size([p]), p) for p in files), key=lambda s: -s[0])
    for size, path in sized:
        total, index, members = heapq.heappop(groups)
        members.append(path)
        heapq.heappush(groups, (total + size, index, members))
    return [members for _, _, members in sorted(groups, key=lambda g: g[1]) if members]


def _select(config: Config, paths: tuple[str, ...]) -> list[Path]:
    if not paths:
        files = config.calendar_files()
        if not files:  # a typo in `calendars:` must never look like "no posts"
            raise UsageError(
                f"no calendar file matches {', '.join(repr(g) for g in config.calendar_globs)}"
                f" under {config.root}",
                hint="check `calendars:` in cmctl.yaml (globs are relative to its folder)",
            )
        if config.calendar_globs != config_mod.DEFAULT_GLOBS:
            for pattern in config.calendar_globs:
                if not any(p.is_file() for p in config.root.glob(pattern)):
                    config.warnings.append(
                        Diagnostic(
                            config.display_path,
                            1,
                            1,
                            "warning",
                            f"calendars: '{pattern}' matches no file",
                            "calendars-glob",
                            "a typo here hides calendars: their scheduled posts are kept, "
                            "not sent, and `cmctl status` says so",
                            frame=False,
                        )
                    )
        return files
    chosen: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        try:
            path.stat()
        except (OSError, ValueError) as exc:  # missing, name too long, NUL...
            raise UsageError(
                f"{given[:100]!r}: no such file or folder"
                + (
                    f" ({getattr(exc, 'strerror', '')})"
                    if getattr(exc, "strerror", None) and not isinstance(exc, FileNotFoundError)
                    else ""
                )
            ) from None
        if path.is_dir():
            for pattern in ("**/*.yaml", "**/*.yml"):
                for found in sorted(path.glob(pattern)):
                    if config.is_calendar_file(found):
                        chosen.setdefault(found, None)
        elif path.is_file():
            if not config.is_calendar_file(path):
                raise UsageError(
                    f"{given} is not a calendar file (cmctl never reads "
                    "cmctl.yaml, dotfiles or the state folder as calendars)"
                )
            chosen.setdefault(path, None)
        else:
            raise UsageError(f"{given}: no such file or folder")
    return list(chosen)
