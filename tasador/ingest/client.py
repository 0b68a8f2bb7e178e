"""Client of any data API with the course contract (ours in server.py, or the course's own).

Connection errors, timeouts and 5xx answers are retried with exponential backoff; HTTP 400 means the
group is exhausted. The rows are handed on as received: RAW keeps what came, validation judges it later.
A retried read timeout can cost a batch on a server that moved on before its answer was lost; RAW records
the batch numbers it did get, so such a gap shows there.
"""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from tasador.configs import ClientOptions
from tasador.ingest.batch import SourceExhausted, SourceUnavailable
from tasador.schema import Batch


class HttpSource:
    """A BatchSource over HTTP; `options` is the `client` section of configs/datasource.yaml."""

    def __init__(self, base_url: str, options: ClientOptions, day: str | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._options = options
        self._day = day if day is not None else options.day
        self._client = httpx.Client(
            base_url=self._base_url,
            timeout=httpx.Timeout(float(options.read_timeout_s), connect=float(options.connect_timeout_s)),
        )

    @property
    def name(self) -> str:
        return self._base_url

    def next_batch(self, group_number: int, last_received: int) -> Batch:
        """The server's next batch for the group (the server keeps the position; `last_received` only numbers
        the batch when the server's answer carries no `batch_number`)."""
        body = self._get_json("/data", group_number)
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise SourceUnavailable(
                f"The data API at {self._base_url} answered /data without a `data` list "
                f"(got {_preview(body)}): check that TASADOR_DATA_API_URL points at a data API."
            )
        return Batch(
            source=self.name,
            group_number=group_number,
            batch_number=self._batch_number(body.get("batch_number"), last_received),
            rows=rows,
            day=body.get("day") or self._day,
        )

    def _batch_number(self, sent: Any, last_received: int) -> int:
        """The server's own number (0 included); counted on from the last one received when it sends none."""
        if sent is None:
            return last_received + 1
        try:
            number = float(sent)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(sent, bool) or not number.is_integer():
            raise SourceUnavailable(
                f"The data API at {self._base_url} numbered a batch {sent!r}, which is not a whole number: "
                "check that TASADOR_DATA_API_URL points at a data API with the course's contract."
            )
        return int(number)

    def restart(self, group_number: int) -> None:
        """Ask the server to start the group over from its first batch."""
        self._get_json("/restart_data_generation", group_number)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get_json(self, path: str, group_number: int) -> Any:
        params: dict[str, Any] = {"group_number": group_number}
        if self._day is not None:
            params["day"] = self._day
        response = self._get_with_retries(path, params)
        if response.status_code == 400:
            raise SourceExhausted(f"{self._base_url}: {_detail(response)}")
        if response.is_error:
            detail = _detail(response)
            fix = (
                "set the day it expects with TASADOR_DATA_API_DAY (e.g. Tuesday)"
                if "day" in detail and self._day is None
                else "check the group number and the URL"
            )
            raise SourceUnavailable(
                f"The data API at {self._base_url}{path} refused the request with HTTP {response.status_code} "
                f"({detail}): {fix}."
            )
        try:
            return response.json()
        except ValueError:
            raise SourceUnavailable(
                f"The data API at {self._base_url}{path} answered with something that is not JSON "
                f"({response.text[:120]!r}): check that TASADOR_DATA_API_URL points at a data API."
            ) from None

    def _get_with_retries(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """The answer below 500; connection errors, timeouts and 5xx are retried, pauses growing by
        `backoff_factor` from `backoff_initial_s` up to `backoff_max_s`."""
        attempts = int(self._options.retries) + 1

        def give_up(state: RetryCallState) -> httpx.Response:
            assert state.outcome is not None  # called after a failed attempt
            if state.outcome.failed:
                exc = state.outcome.exception()
                problem = f"{type(exc).__name__}: {exc}"
            else:
                response = state.outcome.result()
                problem = f"HTTP {response.status_code}: {_detail(response)}"
            raise SourceUnavailable(
                f"The data API at {self._base_url} did not answer {path} after {attempts} attempts ({problem}). "
                "Start it (`python run.py datasource serve`) or set TASADOR_DATA_API_URL to one that runs."
            )

        retrying = Retrying(
            # Connection refused or reset, timeouts; and answers of a failing server.
            retry=retry_if_exception_type(httpx.TransportError) | retry_if_result(lambda r: r.status_code >= 500),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(
                multiplier=float(self._options.backoff_initial_s),
                exp_base=float(self._options.backoff_factor),
                max=float(self._options.backoff_max_s),
            ),
            retry_error_callback=give_up,
        )
        return retrying(self._client.get, path, params=params)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]


def _preview(body: Any) -> str:
    text = repr(body)
    return text if len(text) <= 120 else text[:117] + "..."
