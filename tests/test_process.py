"""tests/process.py: what a test starts dies with it, children included, pass or fail."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.process import Processes

SLEEPER = "import time; time.sleep(60)"
# Starts a grandchild (a daemon's forked tick, say), prints its pid, then sleeps.
PARENT = (
    "import subprocess, sys, time\n"
    f"child = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_failing_test_still_kills_and_reaps_the_whole_group() -> None:
    procs = Processes()
    with pytest.raises(AssertionError), procs:
        parent = procs.popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        raise AssertionError("the test fails here")
    assert parent.returncode is not None  # killed and reaped: no zombie left
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)  # reaped by init once orphaned
    assert not alive(grandchild)


def test_processes_started_by_code_under_test_are_tracked() -> None:
    with Processes() as procs, procs.watching():
        proc = subprocess.Popen([sys.executable, "-c", SLEEPER])
        assert procs.started == [proc]
    assert proc.returncode is not None
    assert subprocess.Popen is not type(proc)  # the patch is undone
