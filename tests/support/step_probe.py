"""A stand-in step entrypoint for tests/integration/test_step_server.py: prints what it sees, exits as told."""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    logging.getLogger("steps.context").info("probe decided: nothing")  # as steps/context.decided logs
    print(f"cwd={os.getcwd()}")
    print(f"value={os.environ.get('PROBE_VALUE')}")
    print("probe: done")
    if sys.argv[1] == "raise":
        raise RuntimeError("the probe failed")
    sys.exit(int(sys.argv[1]))
