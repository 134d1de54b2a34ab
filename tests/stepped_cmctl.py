"""`cmctl` whose wall clock steps once, as NTP or a VM restore would (tests only).

$CMCTL_TEST_CLOCK_STEP is ``AFTER:STEP:MARKER``: after AFTER seconds (real), the wall
clock moves by STEP seconds (negative: back), then the file MARKER is created so that
the test knows. The monotonic clock is untouched, as on a real machine. Under
``--clock-ahead`` the session's shift ($CMCTL_TEST_CLOCK_AHEAD) applies first.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import time_machine

    from tests.clockshift import ENV, parse_offset

    after, step, marker = os.environ["CMCTL_TEST_CLOCK_STEP"].split(":", 2)
    ahead = parse_offset(os.environ[ENV]) if os.environ.get(ENV) else timedelta(0)
    traveller = time_machine.travel(datetime.now(UTC) + ahead, tick=True)
    coordinates = traveller.start()

    def step_clock() -> None:
        coordinates.move_to(datetime.now(UTC) + timedelta(seconds=float(step)))
        Path(marker).touch()

    timer = threading.Timer(float(after), step_clock)
    timer.daemon = True
    timer.start()
    from cmctl.cli import main

    sys.argv[0] = "cmctl"
    main()
