"""A project = cmctl.yaml + its calendars, loaded, compiled and checked in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cmctl import config as config_mod
from cmctl.calendar.loader import load_calendar
from cmctl.calendar.model import Calendar
from cmctl.calendar.rules import check
from cmctl.compile import Job, compile_jobs
from cmctl.config import Config, display
from cmctl.diagnostics import Diagnostic, Report, Sink
from cmctl.errors import UsageError


@dataclass(slots=True)
class Project:
    config: Config
    files: list[Path]
    calendars: list[Calendar] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    report: Report = field(default_factory=Report)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.report.sorted()


def load_config(explicit: str | None = None) -> Config:
    return config_mod.load(config_mod.find(explicit=explicit))


def open_project(config: Config, paths: tuple[str, ...] = (), *, now: datetime) -> Project:
    """Load, compile and check the calendars (all of them, or those under ``paths``)."""
    files = _select(config, paths)
    project = Project(config=config, files=files)
    project.report.extend(config.warnings)
    for path in files:
        sink = Sink(display(path))
        calendar = load_calendar(path, config, sink)
        project.report.extend(sink.items)
        if calendar is not None:
            project.calendars.append(calendar)
    _check_names(project)
    project.jobs = compile_jobs(project.calendars, config)
    project.report.extend(check(project.calendars, project.jobs, config, now))
    return project


def _select(config: Config, paths: tuple[str, ...]) -> list[Path]:
    if not paths:
        return config.calendar_files()
    files: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for pattern in ("**/*.yaml", "**/*.yml"):
                for found in sorted(path.glob(pattern)):
                    if found.is_file():
                        files.setdefault(found, None)
        elif path.is_file():
            files.setdefault(path, None)
        else:
            raise UsageError(f"{given}: no such file or folder")
    return list(files)


def _check_names(project: Project) -> None:
    """Two files must not claim the same calendar name: job identities would collide."""
    seen: dict[str, Calendar] = {}
    for calendar in project.calendars:
        first = seen.setdefault(calendar.name, calendar)
        if first is not calendar:
            project.report.add(
                Diagnostic(calendar.display, 1, 1, "error",
                           f"calendar name '{calendar.name}' is already used by {first.display}",
                           "duplicate-calendar", "set a distinct 'calendar:' in one of them")
            )
            calendar.posts.clear()
