"""What a user would notice that metrics hide (Made-With-ML style behavioural tests).

The model is trained once on synthetic listings (tests/model/conftest.py); each test changes one
input of the holdout listings and checks the direction or size of the change in price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from tasador.model import Predictor

MIN_ROWS_PER_STATE = 40


def test_a_bigger_house_in_the_same_zip_is_not_cheaper_on_average(
    model: Predictor, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, holdout = generated
    houses = holdout[holdout["house_size"].notna()]
    bigger = houses.assign(house_size=houses["house_size"] * 1.5)

    change = np.log(model.predict(bigger) / model.predict(houses))

    assert change.mean() > 0
    assert (change < -0.05).mean() < 0.1  # hardly any house gets clearly cheaper


def test_changing_only_the_street_id_barely_moves_the_price(
    model: Predictor, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, holdout = generated
    elsewhere = holdout.assign(street="123456789")

    change = np.abs(np.log(model.predict(elsewhere) / model.predict(holdout)))

    assert np.median(change) < 0.02
    assert np.quantile(change, 0.95) < 0.10


def test_expensive_states_are_priced_above_cheap_ones(
    model: Predictor, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, holdout = generated
    frame = holdout.assign(predicted=model.predict(holdout))
    by_state = frame.groupby("state").agg(
        rows=("price", "size"), actual=("price", "median"), predicted=("predicted", "median")
    )
    by_state = by_state[by_state["rows"] >= MIN_ROWS_PER_STATE]

    ranking = spearmanr(by_state["actual"], by_state["predicted"]).statistic

    assert len(by_state) >= 8
    assert ranking > 0.8
    priciest, cheapest = by_state["actual"].idxmax(), by_state["actual"].idxmin()
    assert by_state.loc[priciest, "predicted"] > by_state.loc[cheapest, "predicted"]
