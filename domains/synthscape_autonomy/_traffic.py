"""Interactions between agents inside a step: MOBIL lane changes for the drivers whose turn it is,
and oriented-box collisions between lane neighbours (and everyone against the ego).

Both work on few agents per world: MOBIL on the drivers deciding in this step (one in
``mobil_every``, gathered into a (W, S) block), the narrow collision test on the candidate pairs
that pass the broad phase (compacted), so the cost follows the agents that matter.
"""
from __future__ import annotations

from synthscape_autonomy.geometry import obb_overlap, pad
from synthscape_autonomy.models import mobil_gain, mobil_safe
from synthscape_autonomy.motion import MERGE_BIAS, start_lane_changes_at

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
    real = sub < A  # fewer than S drivers decide in some steps
    sub = sub.clamp(max=A - 1)
    ln, xs, acc_s = lane.gather(1, sub), sim.travel().gather(1, sub), acc_self.gather(1, sub)
    at = lambda t: t.gather(1, sub)  # noqa: E731  the deciding drivers' entries
    can = (at(sim.scene.is_idm.expand(sim.W, A)) & ~at(sim.collided) & ~at(sim.scripted)
           & (ln >= 0) & ((at(sim.target_y) - at(sim.y)).abs() < 0.05) & (at(sim.cool) <= 0))
    polite, threshold, safe_decel = (p[k].gather(1, sub) for k in
                                     ("politeness", "change_threshold", "safe_decel"))
    follower = index._pick(index.rank.gather(1, sub) - 1, ln)
    # both directions at once: columns [0, S) move left (+1), [S, 2S) right (-1)
    new = torch.cat((ln + 1, ln - 1), 1)
    valid = can.repeat(1, 2) & (new >= 0) & (new < r.n_lanes)
    if sim.two_way:  # only into lanes of the driver's own direction
        own = sim.dirn.gather(1, sub).repeat(1, 2)
        valid &= r.direction[new.clamp(0, r.n_lanes - 1)].to(own.dtype) == own
    nl, nf = index.around(torch.where(valid, new, -1), xs)
    # every IDM evaluation of the decision in one pass, each follower behind two leaders: the
    # driver's follower behind the driver | the driver's leader, the driver behind its new
    # leaders on the left | right, each new follower behind the driver | its new leader
    S = sub.shape[1]
    W = sub.shape[0]
    nl_l, nl_r = nl[:, :S], nl[:, S:]
    acc, gap = sim._idm_between(torch.cat((follower, sub, nf), 1), torch.stack((
        torch.cat((sub, nl_l, sub, sub), 1), torch.cat((lead.gather(1, sub), nl_r, nl), 1)), 1))
    acc_of, acc_of_new = acc[:, :1, :S], acc[:, 1:, :S]  # (W, 1, S)
    a_self_new = acc[:, :, S:2 * S]  # (W, 2, S): left, right
    a_nf_new, a_nf_old = (acc[:, k, 2 * S:].view(W, 2, S) for k in (0, 1))
    gap_front, gap_back = gap[:, :, S:2 * S], gap[:, 0, 2 * S:].view(W, 2, S)
    gain = mobil_gain(a_self_new, acc_s[:, None], a_nf_new, a_nf_old, acc_of_new, acc_of,
                      polite[:, None], threshold[:, None])
    safe = mobil_safe(a_nf_new, safe_decel[:, None]) & (gap_front > 0) \
        & ((nf.view(W, 2, S) == A) | (gap_back > 0))
    if r.merge_end is not None:  # nobody changes onto the on-ramp (lane 0); leaving it is a
        # mandatory change to the left
        valid &= new.view(W, 2 * S) != 0
        gain[:, 0] += torch.where(ln == 0, MERGE_BIAS, 0.0)
    ok = valid.view(W, 2, S) & safe
    best_gain = torch.zeros_like(xs)
    best_lane = ln
    for k in (0, 1):
        take = ok[:, k] & (gain[:, k] > best_gain)
        best_gain = torch.where(take, gain[:, k], best_gain)
        best_lane = torch.where(take, new[:, k * S:(k + 1) * S], best_lane)
    change = (best_lane != ln) & real
    q = (sim.flat_base + sub)[change]  # flat (W, A) indices of the changers
    ty = r.center.to(sim.x.dtype)[best_lane[change].clamp(0, r.n_lanes - 1)]
    start_lane_changes_at(sim, q, ty, LANE_CHANGE_TIME)
    sim.cool.view(-1)[q] = LANE_CHANGE_COOLDOWN


def collide(sim, index, lane):
    """Oriented-box tests between neighbours in the lane index of the new state, and of
    everyone against the ego; sets ``collided`` and ``new_collision``.

    Two boxes in different lanes overlap only if one of them covers the other's lane as well,
    and then it sits in that lane's sorted list too (its second-lane entry); so the pairs to test
    are each entry of every lane list with the entry ahead of it: ``leader()`` for the agents'
    own lanes, ``leader2()`` for the straddlers' second lanes. Without a lane index (two
    agents, no IDM traffic) the ego-vs-all pairs are all the pairs there are. The pairs within
    reach are compacted, then those whose axis-aligned hulls overlap (a necessary condition,
    with a margin far above rounding) get the exact oriented-box test."""
    import torch

    W, A = sim.W, sim.A
    x_far = pad(sim.x, FAR)  # partner A (none) sits far away
    blocks = [sim.ego_partner[..., 0]] if index is None else [index.leader(),
                                                               sim.ego_partner[..., 0]]
    k = len(blocks)  # blocks of one partner per agent, A = none
    part = torch.stack(blocks, 1, out=sim.scratch("part", (W, k, A), torch.long))
    px = torch.gather(x_far, 1, part.view(W, -1), out=sim.scratch("px", (W, k * A), sim.x.dtype))
    px = torch.sub(px.view(W, k, A), sim.x[:, None], out=px.view(W, k, A)).abs_()
    # the few pairs within reach along x, compacted; then reach along y, hulls, not oneself
    near = torch.lt(px, sim.reach[:, 0], out=sim.scratch("near", px.shape, torch.bool))
    q = near.view(-1).nonzero()[:, 0]
    i = q % A
    wa = q // (k * A) * A  # world * A
    fi = wa + i
    fj = wa + part.view(-1)[q]
    second = index.leader2() if index is not None else None
    if second is not None:  # straddlers (W, m) and their leaders in their second lanes
        who, lead2 = second
        d2 = (x_far.gather(1, lead2) - pad(sim.x, -FAR).gather(1, who)).abs_()
        reach = pad(sim.reach[:, 0].expand(W, A), 0.0).gather(1, who)
        q2 = (d2 < reach).view(-1).nonzero()[:, 0]
        i2 = who.view(-1)[q2]
        wa2 = q2 // who.shape[1] * A
        fi, fj, i = torch.cat((fi, wa2 + i2)), torch.cat((fj, wa2 + lead2.view(-1)[q2])), \
            torch.cat((i, i2))
    ext = sim.extents().flatten(1)
    pos = torch.stack((sim.x.view(-1), sim.y.view(-1)))
    d = (pos[:, fj] - pos[:, fi]).abs()
    keep = (d[1] < sim.reach[i, 0]) & ((d - ext[:, fi] - ext[:, fj]) < _HULL_MARGIN).all(0)
    keep = (keep & (fi != fj)).nonzero()[:, 0]
    sim.ego_impact = torch.zeros_like(sim.x[:, 0])
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
    _impact(sim, fi, fj, i, hit)
    sim.new_collision = new & ~sim.collided
    sim.collided = sim.collided | new


def _impact(sim, fi, fj, i, hit) -> None:
    """The relative speed of the ego and each agent its box overlaps (the largest per world),
    from the velocities that brought them together; into ``sim.ego_impact``."""
    import torch

    ego_first = i == 0
    j = fj % sim.A
    mine = hit & (ego_first | (j == 0))
    if sim.x.device.type == "cpu" and not bool(mine.any()):
        return
    ego, other = torch.where(ego_first, fi, fj), torch.where(ego_first, fj, fi)
    vel = sim.velocity().flatten(1)
    rel = torch.hypot(vel[0, other] - vel[0, ego], vel[1, other] - vel[1, ego])
    sim.ego_impact.scatter_reduce_(0, ego // sim.A, torch.where(mine, rel, 0.0), "amax")
