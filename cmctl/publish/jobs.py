"""The jobs a publish run may send, by key, built only when one is asked for."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.project import Jobs


class JobsByKey(Mapping[str, "Job"]):
    """The project's jobs of ``where`` (key → its file's number in ``jobs``).

    A run sends a few of 100,000 jobs: a job is built when it is asked for, with the
    others of its file that are in ``where``, and kept for the rest of the run (the
    senders' threads share it: one ``Job`` object per key).
    """

    def __init__(self, jobs: Jobs, where: dict[str, int]) -> None:
        self._all = jobs
        self._where = where
        self._built: dict[str, Job] = {}
        self._files: set[int] = set()
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> Job:
        number = self._where[key]
        with self._lock:
            if number not in self._files:
                for job in self._all.of_file(number):
                    if self._where.get(job.key) == number:
                        self._built.setdefault(job.key, job)
                self._files.add(number)
            return self._built[key]

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)
