"""Three sites that never pool their records fit one DP generator together.

    python examples/federated_sites.py        # needs: pip install 'synthscape[aim,datasets]'

ISLR/Default is split by income band into three sites whose distributions differ. Each site
measures marginals on its own rows with its own secret noise and its own ledger (epsilon 1 per
record); the coordinator only sums noisy answers and fits one graphical model. The second fit
runs the same sites under secure aggregation: the coordinator sees only masked sums, each site
adds a third of the noise, and the guarantee states the trust it rests on.
"""
import numpy as np

from synthscape.datasets import load_dataset
from synthscape.federated import InProcessTransport, Site, fit_federated
from synthscape.federated.secagg import SecureAggregation
from synthscape.privacy import Budget
from synthscape.schema import Column, TableSchema


def main() -> None:
    df = load_dataset("ISLR/Default").drop(columns=["rownames"])
    band = np.digitize(df["income"], [25000, 45000])
    schema = TableSchema(columns=(
        Column(name="default", kind="categorical", categories=("No", "Yes")),
        Column(name="balance", kind="numerical", lower=0, upper=3000),
        Column(name="income", kind="numerical", lower=0, upper=80000)))
    for secure in (False, True):
        sites = [Site(f"site{k}", df[band == k].reset_index(drop=True),
                      budget=Budget(epsilon=1.0),
                      secure_aggregation=SecureAggregation(sites=3) if secure else None)
                 for k in range(3)]
        # 'student' is not declared: its categories are released under DP by every site and
        # united
        fit = fit_federated(InProcessTransport(sites), schema, discover=["student"],
                            workload=[("default", "balance"), ("student", "income"),
                                      ("default", "student")], bins=16, seed=0,
                            secure_aggregation=secure)
        syn = fit.generator.sample(len(df), seed=0)
        print(("secure aggregation: " if secure else "") + fit.guarantee)
        print(f"default rate: real {np.mean(df['default'] == 'Yes'):.3f}, "
              f"synthetic {np.mean(syn['default'] == 'Yes'):.3f}")
        print(f"student rate: real {np.mean(df['student'] == 'Yes'):.3f}, "
              f"synthetic {np.mean(syn['student'] == 'Yes'):.3f}")


if __name__ == "__main__":
    main()
