"""Fit MST under a declared schema, sample, rebalance, evaluate and save, all in Python.

The saved model goes to ``<out>/release`` (covered by its ledger); the evaluation against the
real rows goes to ``<out>/internal`` (not covered by the privacy guarantee).

    python examples/tabular_quickstart.py [--out out/examples]
"""
import argparse
import warnings
from pathlib import Path

from synthscape import TableSchema
from synthscape.datasets import load_dataset
from synthscape.evaluation import evaluate
from synthscape.generators import load, make
from synthscape.random import train_test_split

ROOT = Path(__file__).resolve().parents[1]


def main(out: Path) -> None:
    df = load_dataset("ISLR/Default").drop(columns="rownames")
    schema = TableSchema.from_yaml(ROOT / "scenarios/tabular/default_credit.schema.yaml")
    train, test = train_test_split(df, 0.2, seed=0)  # the public seed: same split every run

    gen = make("mst", epsilon=1.0, delta=1e-6, seed=0).fit(train, schema=schema)
    print(gen.ledger_.describe())
    syn = gen.sample(len(train))
    rare = gen.sample(2_000, conditions={"default": {"Yes": 0.5, "No": 0.5}})
    print("rebalanced shares:", rare["default"].value_counts(normalize=True).to_dict())

    # The evaluation compares with the real rows: it is internal, not covered by the ledger.
    internal, release = out / "internal", out / "release"
    internal.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = evaluate(train, test, syn, schema, target="default", sensitive=["student"],
                          ledger=gen.ledger_, figures_dir=internal)
    report.notice = ("NOT COVERED BY THE PRIVACY GUARANTEE: statistics of the real data; "
                     "keep this evaluation internal.")
    report.write(internal)
    print("quality:", report.sections["fidelity"].scores.get("quality_score"))
    gen.save(release / "model", overwrite=True)  # the model is covered by its ledger
    assert load(release / "model").sample(5, seed=1).equals(gen.sample(5, seed=1))
    print(f"model (release): {release / 'model'}")
    print(f"evaluation (internal, not covered by the privacy guarantee): "
          f"{internal / 'report.html'}")

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("out/examples/tabular"))
    main(ap.parse_args().out)
