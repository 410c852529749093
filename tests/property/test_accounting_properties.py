"""Property tests for the accounting maths: more noise never costs more; more steps never cost
less."""
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.privacy import (
    ExponentialEvent,
    GaussianEvent,
    LaplaceEvent,
    SubsampledGaussianEvent,
    make_accountant,
)

RDP = make_accountant("rdp")
sigmas = st.floats(min_value=0.3, max_value=50)
deltas = st.sampled_from([1e-3, 1e-6, 1e-9])
settings.register_profile("ci", max_examples=40, deadline=None)
settings.load_profile("ci")


@given(s1=sigmas, s2=sigmas, delta=deltas)
def test_more_gaussian_noise_never_costs_more(s1, s2, delta):
    lo, hi = sorted((s1, s2))
    assert RDP.epsilon([GaussianEvent(noise_multiplier=hi)], delta) <= \
        RDP.epsilon([GaussianEvent(noise_multiplier=lo)], delta) + 1e-12


@given(s1=sigmas, s2=sigmas, q=st.floats(min_value=0.001, max_value=0.5),
       steps=st.integers(min_value=1, max_value=2000))
def test_more_sgd_noise_never_costs_more(s1, s2, q, steps):
    lo, hi = sorted((s1, s2))
    def cost(s):
        return RDP.epsilon([SubsampledGaussianEvent(noise_multiplier=s, sample_rate=q,
                                                    steps=steps)], 1e-6)

    assert cost(hi) <= cost(lo) + 1e-9


@given(sigma=sigmas, q=st.floats(min_value=0.001, max_value=0.5),
       a=st.integers(min_value=1, max_value=3000), b=st.integers(min_value=1, max_value=3000))
def test_more_steps_never_cost_less(sigma, q, a, b):
    lo, hi = sorted((a, b))
    def cost(k):
        return RDP.epsilon([SubsampledGaussianEvent(noise_multiplier=sigma, sample_rate=q,
                                                    steps=k)], 1e-6)

    assert cost(hi) >= cost(lo) - 1e-9


@given(q1=st.floats(min_value=0.001, max_value=1.0), q2=st.floats(min_value=0.001, max_value=1.0),
       sigma=sigmas)
def test_larger_sampling_rate_never_costs_less(q1, q2, sigma):
    lo, hi = sorted((q1, q2))
    def cost(q):
        return RDP.epsilon([SubsampledGaussianEvent(noise_multiplier=sigma, sample_rate=q,
                                                    steps=100)], 1e-6)

    assert cost(hi) >= cost(lo) - 1e-9


@given(e1=st.floats(min_value=0.01, max_value=5), e2=st.floats(min_value=0.01, max_value=5),
       kind=st.sampled_from([LaplaceEvent, ExponentialEvent]), delta=deltas)
def test_pure_mechanisms_are_monotone_in_epsilon(e1, e2, kind, delta):
    lo, hi = sorted((e1, e2))
    assert RDP.epsilon([kind(epsilon=lo)], delta) <= RDP.epsilon([kind(epsilon=hi)], delta) + 1e-12
    # never worse than the pure guarantee plus nothing: eps-DP implies (eps, delta)-DP
    assert RDP.epsilon([kind(epsilon=lo)], delta) <= lo + 1e-12


@given(sigmas_list=st.lists(sigmas, min_size=1, max_size=6), extra=sigmas, delta=deltas)
def test_adding_an_event_never_lowers_epsilon(sigmas_list, extra, delta):
    events = [GaussianEvent(noise_multiplier=s) for s in sigmas_list]
    more = RDP.epsilon(events + [GaussianEvent(noise_multiplier=extra)], delta)
    assert more >= RDP.epsilon(events, delta) - 1e-12


@given(gaps=st.lists(st.lists(st.integers(min_value=0, max_value=5), min_size=8, max_size=8),
                     min_size=1, max_size=30),
       lengths=st.lists(st.integers(min_value=0, max_value=8), min_size=30, max_size=30),
       drop=st.integers(min_value=0, max_value=29))
def test_the_anchor_position_histogram_moves_one_count_per_entity(gaps, lengths, drop):
    """dp_sequence's anchor release (L2 sensitivity 1): adding or removing one entity changes
    one cell by one."""
    import numpy as np

    from synthscape.generators.dp_sequence._anchor import anchor_hist, positions

    g = np.asarray(gaps)
    n = np.asarray(lengths[:len(g)])
    pos = positions(g, n, anchor_class=5)
    full = anchor_hist(pos, n, 8)
    assert full.sum() == (n > 0).sum()
    keep = np.arange(len(g)) != drop % len(g)
    less = anchor_hist(pos[keep], n[keep], 8)
    assert np.abs(full - less).sum() <= 1 and np.sqrt(((full - less) ** 2).sum()) <= 1


@given(n=st.lists(st.integers(min_value=0, max_value=64), min_size=1, max_size=40),
       bucket=st.integers(min_value=0, max_value=8), seed=st.integers(min_value=0, max_value=99))
def test_a_drawn_anchor_position_lies_in_the_history_and_its_bucket(n, bucket, seed):
    """dp_sequence's anchor draw: a position inside the history, in the drawn run of it (every
    run of a history of at least BUCKETS events holds a position), -1 for the "none" bucket."""
    import numpy as np

    from synthscape.generators.dp_sequence._anchor import BUCKETS, AnchorModel, buckets, n_groups

    probs = np.full((n_groups(64), BUCKETS + 1), 1e-300)
    probs[:, bucket] = 1.0  # every entity draws this bucket
    lengths = np.asarray(n)
    pos = AnchorModel(probs).draw(lengths, np.random.default_rng(seed))
    assert (pos[lengths == 0] == -1).all()
    if bucket == BUCKETS:
        assert (pos == -1).all()
        return
    has = lengths > 0
    assert ((pos[has] >= 0) & (pos[has] < lengths[has])).all()
    long = lengths >= BUCKETS
    assert (buckets(pos[long], lengths[long]) == bucket).all()


@given(days=st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=400)), min_size=1,
                     max_size=30),
       after=st.lists(st.integers(min_value=0, max_value=63), min_size=30, max_size=30),
       drop=st.integers(min_value=0, max_value=29))
def test_the_follow_up_histogram_moves_one_count_per_entity(days, after, drop):
    """dp_sequence's follow-up release (L2 sensitivity 1): entities with an anchor event add one
    count each; removing one entity changes one cell by one."""
    import numpy as np

    from synthscape.generators.dp_sequence._encoding import day_edges
    from synthscape.generators.dp_sequence._followup import followup_hist

    d = np.array([np.nan if x is None else x for x in days])
    a = np.asarray(after[:len(d)])
    edges = np.asarray(day_edges(400.0))
    full = followup_hist(d, a, edges, 64)
    assert full.sum() == (~np.isnan(d)).sum()
    keep = np.arange(len(d)) != drop % len(d)
    less = followup_hist(d[keep], a[keep], edges, 64)
    assert np.abs(full - less).sum() <= 1
