"""Session fixtures of the model tests: one small table and one trained run."""

from __future__ import annotations

import polars as pl
import pytest
from model_table import TEST_FEATURES, make_table, modelling_view, truth_of


@pytest.fixture(scope="session")
def small_table() -> pl.DataFrame:
    return make_table()


@pytest.fixture(scope="session")
def trained_run(small_table):
    from models.challenger import train_and_evaluate

    return train_and_evaluate(
        modelling_view(small_table),
        TEST_FEATURES,
        truth=truth_of(small_table),
    )
