#!/usr/bin/env python3
"""A local Amazon ECS (and CodeDeploy) emulator for trying `ecs-deploy` without an AWS account.

    python3 scripts/ecs_emulator.py --port 0 --port-file /tmp/ecs.port [flags]

This is the entry point only: the emulator is the package scripts/emulator/, whose
documentation (scripts/emulator/__init__.py) describes every behaviour, flag and
/_emulator endpoint; `--help` lists the flags.
"""

from __future__ import annotations

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Stop requests that arrive while moto is still being imported are honoured too.
from emulator.config import request_stop  # noqa: E402  (moto-free)

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

try:
    from emulator.cli import main  # noqa: E402
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"ecs_emulator: cannot import moto ({exc}); install it with: scripts/ensure-moto\n"
    )
    sys.exit(2)


if __name__ == "__main__":
    sys.exit(main())
