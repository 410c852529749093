"""Oriented-box collisions, occlusion, and leaders found by sorting."""
import math

import numpy as np
import torch

from synthscape_autonomy.geometry import LaneIndex, obb_overlap, segment_hits_box

T = torch.tensor


def _hit(a, b):
    return bool(obb_overlap(*(T(v, dtype=torch.float32) for v in (*a, *b))))


def test_overlapping_boxes_collide():
    assert _hit((0, 0, 0, 4.5, 1.8), (4.0, 0.5, 0, 4.5, 1.8))
    assert _hit((0, 0, 0, 4.5, 1.8), (0.0, 0.0, math.pi / 2, 4.5, 1.8))  # crossing


def test_near_boxes_do_not_collide():
    assert not _hit((0, 0, 0, 4.5, 1.8), (4.6, 0.0, 0, 4.5, 1.8))  # 10 cm apart, same lane
    assert not _hit((0, 0, 0, 4.5, 1.8), (0.0, 1.9, 0, 4.5, 1.8))  # side by side, 10 cm
    # a 45-degree box whose bounding circle overlaps but whose corner stays clear
    assert not _hit((0, 0, 0, 4.0, 2.0), (3.6, 2.0, math.pi / 4, 2.0, 2.0))


def test_segment_occlusion():
    args = [T(v, dtype=torch.float32) for v in (0, 0, 20, 0, 10, 0, 0, 4.5, 1.8)]
    assert bool(segment_hits_box(*args))
    args[5] = T(3.0)  # box moved aside
    assert not bool(segment_hits_box(*args))


def test_leaders_by_sorting_match_brute_force():
    rng = np.random.default_rng(0)
    W, A = 5, 12
    lane = torch.tensor(rng.integers(-1, 3, (W, A)))
    x = torch.tensor(rng.uniform(0, 100, (W, A)), dtype=torch.float32)
    idx = LaneIndex(lane, x)
    lead, follow = idx.leader(), idx.follower()
    for w in range(W):
        for a in range(A):
            same = [b for b in range(A) if b != a and lane[w, b] == lane[w, a] >= 0]
            ahead = [b for b in same if x[w, b] > x[w, a]]
            behind = [b for b in same if x[w, b] < x[w, a]]
            exp_l = min(ahead, key=lambda b: x[w, b]) if ahead else A
            exp_f = max(behind, key=lambda b: x[w, b]) if behind else A
            assert lead[w, a].item() == exp_l
            assert follow[w, a].item() == exp_f
    q_lead, q_follow = idx.around(torch.full_like(lane, 1), x)
    for w in range(W):
        in1 = [b for b in range(A) if lane[w, b] == 1]
        for a in range(A):
            ahead = [b for b in in1 if x[w, b] >= x[w, a] and b != a]
            if lane[w, a] != 1:
                exp = min(ahead, key=lambda b: x[w, b]) if ahead else A
                assert q_lead[w, a].item() == exp
