"""A stand-in step entrypoint for tests/integration/test_step_server.py: prints what it sees, exits as told.

`zenml` as its argument: says whether ZenML's store was started before the fork, then reads the active
stack through it, as a step's entrypoint does first.
"""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    logging.getLogger("steps.context").info("probe decided: nothing")  # as steps/context.decided logs
    print(f"cwd={os.getcwd()}")
    print(f"value={os.environ.get('PROBE_VALUE')}")
    if sys.argv[1] == "zenml":
        print(f"store started before the fork: {'zenml.zen_stores.sql_zen_store' in sys.modules}")
        from zenml.client import Client

        print(f"stack={Client().active_stack_model.name}")
        sys.exit(0)
    print("probe: done")
    if sys.argv[1] == "raise":
        raise RuntimeError("the probe failed")
    sys.exit(int(sys.argv[1]))
