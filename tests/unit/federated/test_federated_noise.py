"""The federation's mechanisms draw only from each site's secret NoiseSource."""
import re
from pathlib import Path

import pytest

FED = Path(__file__).resolve().parents[3] / "core" / "synthscape" / "federated"


@pytest.mark.parametrize("name", ["site.py", "local.py", "coordinator.py", "neural.py", "gan.py"])
def test_no_seeded_numpy_generator_in_the_federation(name):
    text = (FED / name).read_text()
    assert not re.findall(r"np\.random|default_rng|RandomState", text)


def test_site_noise_follows_the_site_ledger(parts, schema):
    from synthscape.federated import Site
    from synthscape.privacy import Budget

    site = Site("a", parts[0], budget=Budget(epsilon=1.0))
    site.handle({"op": "setup", "schema": schema.to_dict(), "bins": 4})
    before = repr(site.ledger.noise)
    site.handle({"op": "measure", "cliques": [[0]], "share": 0.5})
    assert repr(site.ledger.noise) != before  # the draw advanced the site's own stream
