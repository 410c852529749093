"""Interactions between agents inside a step: MOBIL lane changes for the drivers whose turn it is,
and oriented-box collisions between lane neighbours (and everyone against the ego).

Both work on few agents per world: MOBIL on the drivers deciding in this step (one in
``mobil_every``, gathered into a (W, S) block), the narrow collision test on the candidate pairs
that pass the broad phase (compacted), so the cost follows the agents that matter.
"""
from __future__ import annotations

from synthscape_autonomy.geometry import obb_overlap, pad
from synthscape_autonomy.models import mobil_gain, mobil_safe

LANE_CHANGE_TIME = 4.6  # s, mean lane-change duration, Toledo & Zohar 2007 (TRR 1999)
LANE_CHANGE_COOLDOWN = 3.0  # s between two MOBIL decisions of one driver (keeps changes apart)
FAR = 1.0e7  # m, the position of the "no leader" padding slot
_HULL_MARGIN = 0.01  # m; hull and box tests round differently by well under a micrometre


def mobil(sim, index, lane, acc_self, lead):
    """MOBIL decisions of the drivers whose turn it is (agent a decides when (step + a) is a
    multiple of ``mobil_every``); sets their target lane, lateral speed and cooldown."""
    import torch

    r = sim.scene.road
    A, p = sim.A, sim.params
    sub = torch.remainder(-sim.steps, sim.mobil_every)[:, None] + sim.mobil_slots  # (W, S)
    sub_pad = torch.where(sub < A, sub, A)  # A = no driver (fewer than S this step)
    sub = sub.clamp(max=A - 1)
    can = (sim.scene.is_idm & ~sim.collided & ~sim.scripted & (lane >= 0)
           & ((sim.target_y - sim.y).abs() < 0.05) & (sim.cool <= 0)).gather(1, sub)
    ln, xs, acc_s = lane.gather(1, sub), sim.x.gather(1, sub), acc_self.gather(1, sub)
    polite, threshold, safe_decel = (p[k].gather(1, sub) for k in
                                     ("politeness", "change_threshold", "safe_decel"))
    follower = index._pick(index.rank.gather(1, sub) - 1, ln)
    acc_of, _ = sim._idm_between(follower, sub)
    acc_of_new, _ = sim._idm_between(follower, lead.gather(1, sub))
    best_gain = torch.zeros_like(xs)
    best_lane = ln
    for d in (1, -1):
        new = ln + d
        valid = can & (new >= 0) & (new < r.n_lanes)
        nl, nf = index.around(torch.where(valid, new, -1), xs)
        a_self_new, gap_front = sim._idm_between(sub, nl)
        a_nf_new, gap_back = sim._idm_between(nf, sub)
        a_nf_old, _ = sim._idm_between(nf, nl)
        gain = mobil_gain(a_self_new, acc_s, a_nf_new, a_nf_old, acc_of_new, acc_of,
                          polite, threshold)
        safe = mobil_safe(a_nf_new, safe_decel) & (gap_front > 0) & ((nf == A) | (gap_back > 0))
        take = valid & safe & (gain > best_gain)
        best_gain = torch.where(take, gain, best_gain)
        best_lane = torch.where(take, new, best_lane)
    best = pad(lane, -1).scatter(1, sub_pad, best_lane)[:, :A]
    change = best != lane
    ty = r.center.to(sim.x.dtype)[best.clamp(0, r.n_lanes - 1)]
    sim.target_y = torch.where(change, ty, sim.target_y)
    sim.lat_speed = torch.where(change, r.lane_width / LANE_CHANGE_TIME, sim.lat_speed)
    sim.cool = torch.where(change, LANE_CHANGE_COOLDOWN, sim.cool)


def collide(sim, index, lane, lead=None):
    """Oriented-box tests against lane neighbours (found by sorting) and ego vs all; sets
    ``collided`` and ``new_collision``. Without a lane index (two agents, no IDM traffic) the
    ego-vs-all pairs are all the pairs there are; ``lead`` is ``index.leader()`` when the step
    has it already. The pairs within reach are compacted, then
    those whose axis-aligned hulls overlap (a necessary condition, with a margin far above
    rounding) get the exact oriented-box test."""
    import torch

    A = sim.A
    if index is None:
        part = sim.ego_partner  # (W, A, 1)
    else:
        r = sim.scene.road
        cands = [index.leader() if lead is None else lead]
        for d in (1, -1):
            nl = lane + d
            nl = torch.where((nl >= 0) & (nl < r.n_lanes) & (lane >= 0), nl, -1)
            cands += list(index.around(nl, sim.x))
        cands.append(sim.ego_partner[..., 0])  # everyone against the ego
        part = torch.stack(cands, -1)  # (W, A, 6), A = none
    px = torch.gather(pad(sim.x, FAR), 1, part.flatten(1)).view(part.shape)
    # the few pairs within reach along x, compacted; then reach along y, hulls, not oneself
    q = ((px - sim.x[..., None]).abs() < sim.reach).view(-1).nonzero()[:, 0]
    fi = q // part.shape[-1]  # world * A + agent
    i = fi % A
    fj = fi - i + part.reshape(-1)[q]
    ext = sim.extents().flatten(1)
    pos = torch.stack((sim.x.view(-1), sim.y.view(-1)))
    d = (pos[:, fj] - pos[:, fi]).abs()
    keep = (d[1] < sim.reach[i, 0]) & ((d - ext[:, fi] - ext[:, fj]) < _HULL_MARGIN).all(0)
    keep = (keep & (fi != fj)).nonzero()[:, 0]
    if keep.numel() == 0:
        sim.new_collision = torch.zeros_like(sim.collided)
        return
    fi, fj = fi[keep], fj[keep]
    i, j = i[keep], fj % A
    L, Wd = sim.scene.length, sim.scene.width
    x, y, h = sim.x.view(-1), sim.y.view(-1), sim.h.view(-1)
    hit = obb_overlap(x[fi], y[fi], h[fi], L[i], Wd[i], x[fj], y[fj], h[fj], L[j], Wd[j])
    count = torch.zeros(sim.W * A, dtype=torch.int32, device=sim.x.device)
    count.index_add_(0, torch.cat((fi, fj)), hit.to(torch.int32).repeat(2))
    new = (count > 0).view(sim.W, A)
    sim.new_collision = new & ~sim.collided
    sim.collided = sim.collided | new
