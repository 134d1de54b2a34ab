"""`cmctl` with its clock moved ahead by $CMCTL_TEST_CLOCK_AHEAD (tests only)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import time_machine

    from tests.clockshift import ENV, parse_offset

    offset = parse_offset(os.environ[ENV])
    # A timestamp, not an aware datetime: time-machine would set TZ=UTC for one, and the
    # machine's zone (what `cmctl init` takes) must stay the environment's.
    time_machine.travel((datetime.now(UTC) + offset).timestamp(), tick=True).start()
    from cmctl.cli import main

    sys.argv[0] = "cmctl"
    main()
