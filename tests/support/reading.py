"""Reading what an AppTest page shows: the text of elements, the rows a chart plots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest


def chart_data(app: AppTest, index: int = 0) -> pd.DataFrame:
    """The rows an Altair chart of the page plots."""
    chart = app.get("vega_lite_chart")[index].proto
    return convert_arrow_bytes_to_pandas_df(chart.datasets[0].data.data)


def texts(elements: Iterable[Any]) -> str:
    return " ".join(str(e.value) for e in elements)
