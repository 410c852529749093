"""Small tables for the evaluation tests: a real train/test split, a synthetic table drawn
freshly from the same distribution ("fresh"), and one that copies the training rows ("copy")."""
import numpy as np
import pandas as pd
import pytest

from synthscape.schema import Column, TableSchema

SCHEMA = TableSchema(name="people", columns=[
    Column(name="pid", kind="id"),
    Column(name="age", kind="numerical", lower=18, upper=90),
    Column(name="income", kind="numerical", lower=0, upper=200_000),
    Column(name="sex", kind="categorical", categories=("F", "M")),
    Column(name="region", kind="categorical", categories=("north", "south", "east", "west")),
    Column(name="smoker", kind="boolean"),
    Column(name="y", kind="categorical", categories=("no", "yes")),
])


def draw(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n).round()
    sex = rng.choice(["F", "M"], n)
    income = np.clip(20_000 + 900 * (age - 18) + rng.normal(0, 15_000, n), 0, 200_000)
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    smoker = rng.random(n) < 0.25
    logit = -2.5 + 0.04 * (age - 50) + 1.5 * smoker + 0.5 * (sex == "M")
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"pid": [f"p{seed}-{i}" for i in range(n)], "age": age,
                         "income": income, "sex": sex, "region": region, "smoker": smoker,
                         "y": y})


@pytest.fixture(scope="session")
def schema() -> TableSchema:
    return SCHEMA


@pytest.fixture(scope="session")
def train() -> pd.DataFrame:
    return draw(400, 1)


@pytest.fixture(scope="session")
def test_df() -> pd.DataFrame:
    return draw(200, 2)


@pytest.fixture(scope="session")
def fresh() -> pd.DataFrame:
    return draw(400, 3)


@pytest.fixture(scope="session")
def copy(train) -> pd.DataFrame:
    return train.assign(pid=[f"s{i}" for i in range(len(train))])
