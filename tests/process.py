"""How tests start a real `cmctl` process (the installed script, or `python -m cmctl`).

Under ``pytest --clock-ahead`` (tests/clockshift.py) the child runs through
tests/shifted_cmctl.py, which moves its clock by the same amount, so that a test and the
process it drives agree on what time it is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.clockshift import ENV

SHIFTED = Path(__file__).with_name("shifted_cmctl.py")


def cmctl_cmd() -> list[str]:
    if os.environ.get(ENV):
        return [sys.executable, str(SHIFTED)]
    exe = Path(sys.executable).with_name("cmctl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cmctl"]
