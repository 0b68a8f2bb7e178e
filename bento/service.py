"""The tasador price service: BentoML runs it, the FastAPI app in tasador.serving.api answers.

Serve it from the repository root with `bentoml serve` (bentofile.yaml there names this service).
BentoML reads the service's options when this module is imported, so the config and the app are
built here, once per process; everything that talks to MLflow or the database starts in __init__,
once per worker.
"""

import gc
import logging

import bentoml

from tasador.serving.api import create_app
from tasador.serving.config import resolve_settings
from tasador.serving.runtime import Runtime
from tasador.settings import Settings

CONFIG = Settings().configs.serving  # configs/serving.yaml, or the file TASADOR_SERVING_CONFIG names
APP = create_app(CONFIG)


@bentoml.service(name="tasador_price", **CONFIG.service)
@bentoml.asgi_app(APP)
class TasadorPrice:
    """Prices from `models:/tasador-price@production`, followed without a restart."""

    def __init__(self) -> None:
        if not CONFIG.access_log_enabled:
            # BentoML's switch only removes its own middleware; uvicorn still logs every request
            # (two formatted lines each).
            logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        self.runtime = Runtime(CONFIG, resolve_settings()).start()
        APP.state.runtime = self.runtime
        # The worker holds some 600,000 objects from its imports (BentoML, MLflow, pandas, XGBoost) and the
        # model, none of which will become garbage. Each full collection walked them all with the GIL held,
        # stalling every request in flight (the p99 goal, BENCHMARKS.md "Serving"). Frozen once the model and
        # the log's database are loaded, collections walk only what requests allocate; cyclic garbage made
        # later is still collected.
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        return self.runtime.watcher.current is not None

    @bentoml.on_shutdown
    def flush_inference_log(self) -> None:
        self.runtime.stop()
