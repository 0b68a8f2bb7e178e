"""Where batches come from: the synthetic generator, a CSV, or a data API over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasador.configs import DatasourceConfig
    from tasador.ingest.batch import BatchSource
    from tasador.settings import Settings


def make_source(settings: Settings, config: DatasourceConfig) -> BatchSource:
    """The source `settings.source` names: "http" (the data API at settings.data_api_url) or "inprocess"
    (the feed configs/datasource.yaml describes: the generator, or a CSV when `csv.path` is set)."""
    if settings.source == "http":
        from tasador.ingest.client import HttpSource

        return HttpSource(settings.data_api_url, config.client, day=settings.data_api_day)
    from tasador.data_api.feeds import build_feed
    from tasador.ingest.inprocess import InProcessSource

    return InProcessSource(build_feed(config))
