from __future__ import annotations

from zenml import pipeline

from steps.serving.score_listings import score_listings


@pipeline(enable_cache=False)
def batch_inference(input_path: str | None = None, clean_where: str | None = None) -> None:
    """Price a file of listings (or a query over CLEAN) with the `production` model, on the active stack.

    Args:
        input_path: a CSV file of listings.
        clean_where: or a SQL condition over CLEAN's `clean_rows`.
    """
    score_listings(input_path=input_path, clean_where=clean_where)
