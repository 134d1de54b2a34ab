"""Who holds a claim: machine, pid and process start time, so a dead owner is recognised.

"This machine" is the host name plus, where Linux tells them, the boot id and the pid
namespace: two containers sharing a host name (and a state folder) are different
machines, and so is the same host after a reboot. A claim by a process of this machine
that no longer exists (or whose pid was reused: the start time differs) is recovered at
once; any other claim only when its lease expires.
"""

from __future__ import annotations

import os
import socket
from functools import cache


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' where /proc is absent)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def current() -> str:
    """This process's owner id (not cached across fork: the pid is part of it)."""
    return _owner(os.getpid())


@cache
def _machine() -> str:
    parts = [socket.gethostname()]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            parts.append(f.read().strip()[:8])
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        pass
    return ":".join(parts)


@cache
def _owner(pid: int) -> str:
    return f"{_machine()}/{pid}/{_start_time(pid)}"


def alive(owner: str) -> bool | None:
    """True/False for a process of this machine; None when it is another machine's."""
    machine, _, rest = owner.partition("/")
    pid_text, _, started = rest.partition("/")
    if machine != _machine() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not started or _start_time(pid) in ("", started)
