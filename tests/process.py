"""How tests start a real `cmctl` process (the installed script, or `python -m cmctl`).

Under ``pytest --clock-ahead`` (tests/clockshift.py) the child runs through
tests/shifted_cmctl.py, which moves its clock by the same amount, so that a test and the
process it drives agree on what time it is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clockshift import ENV

SHIFTED = Path(__file__).with_name("shifted_cmctl.py")


def cmctl_cmd() -> list[str]:
    if os.environ.get(ENV):
        return [sys.executable, str(SHIFTED)]
    exe = Path(sys.executable).with_name("cmctl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cmctl"]


class Processes:
    """Every process a test starts, killed and reaped when the test ends, pass or fail.

    Each child starts in a session of its own, so that the end kills its whole group
    (a daemon's forked ticks too, when the daemon is still unreaped), never anything
    else. Use the ``processes`` fixture (import ``processes_fixture`` from this module),
    or ``with Processes() as procs:`` outside a test function.
    """

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def cmctl(self, *args: str, **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``cmctl ARGS`` (see ``cmctl_cmd``); kwargs go to subprocess.Popen."""
        return self.popen([*cmctl_cmd(), *args], **kwargs)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        kwargs.setdefault("start_new_session", True)
        proc = subprocess.Popen(argv, **kwargs)
        self.started.append(proc)
        return proc

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Also track the processes that code under test starts with subprocess.Popen
        (benchmarks/chaos.py starts its own daemon and cron runs)."""
        owner = self

        class Tracked(_POPEN):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.setdefault("start_new_session", True)
                super().__init__(*args, **kwargs)
                owner.started.append(self)

        subprocess.Popen = Tracked  # type: ignore[misc]
        try:
            yield
        finally:
            subprocess.Popen = _POPEN  # type: ignore[misc]

    def close(self) -> None:
        """Kill (SIGKILL) what still runs and reap everything; close the pipes."""
        for proc in self.started:
            if proc.returncode is None:  # not reaped yet: its pid (and group) are still ours
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if os.getpgid(proc.pid) == proc.pid:
                        os.killpg(proc.pid, signal.SIGKILL)
                    else:
                        proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self.started.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_POPEN = subprocess.Popen


@pytest.fixture(name="processes")
def processes_fixture() -> Iterator[Processes]:
    """The processes a test starts (``processes.cmctl("daemon", cwd=root)``), always
    killed and reaped at its end, even when it fails."""
    with Processes() as procs:
        yield procs
