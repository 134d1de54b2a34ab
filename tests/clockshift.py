"""Run the whole suite with the clock moved ahead: `pytest --clock-ahead 2y`.

No test may depend on the real date. This plugin starts one time-machine travel for
the whole session (``tick=True``: time goes on from the shifted moment), so every
``datetime.now()``/``time.time()`` of the test process, and of every cmctl process the
tests start (through :func:`tests.process.cmctl_cmd`), says "two years from now".
Tests that freeze time themselves nest their own travel inside this one.

Also read from ``CMCTL_TEST_CLOCK_AHEAD`` (same syntax: ``730d``, ``2y``, ``36h``), which
is how the shift reaches child processes. File modification times stay real: the
kernel stamps them, exactly as a machine whose clock is set in the future would.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest

ENV = "CMCTL_TEST_CLOCK_AHEAD"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_offset(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(-?\d+)\s*([smhdwy])\s*", text)
    if match is None:
        raise pytest.UsageError(f"--clock-ahead: '{text}' is not like 730d, 2y or 36h")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead",
        default=os.environ.get(ENV) or None,
        help="run the session with the clock moved ahead (e.g. 2y, 400d)",
    )


_travel = None


def pytest_configure(config: pytest.Config) -> None:
    global _travel
    text = config.getoption("--clock-ahead")
    if not text:
        return
    offset = parse_offset(text)
    import time_machine

    os.environ[ENV] = text  # child cmctl processes shift by the same amount
    _travel = time_machine.travel(datetime.now(UTC) + offset, tick=True)
    _travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


def pytest_report_header(config: pytest.Config) -> str | None:
    text = config.getoption("--clock-ahead")
    if text:
        moment = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        return f"clock moved ahead by {text}: the session believes it is {moment}"
    return None
