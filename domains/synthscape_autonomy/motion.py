"""Vehicle motion inside a step: lane changes on a smooth lateral profile, the accelerations of
drivers while they change lanes, and the integration of speeds, headings and positions
(including the aftermath of a crash).

Kinematics: ``v`` is the speed along the heading ``h``; every agent moves by
``v (cos h, sin h) dt``, which is also the velocity the labels and drivers read. A lane-bound
vehicle's heading follows its lateral motion (``sin h = v_y / v``), with ``|h|`` at most
``MAX_LANE_HEADING``, so a stopped car does not slide sideways.
"""
from __future__ import annotations

import math

from synthscape_autonomy.geometry import pad, second_lanes

MAX_LANE_HEADING = 0.35  # rad (20 deg): the largest angle to its lane a lane-bound vehicle takes;
# normal lane changes stay at a few degrees, short scripted cut-ins at low speed reach it
_SIN_MAX = math.sin(MAX_LANE_HEADING)
TAU_CLEAR = 0.6  # fraction of a lane change after which the footprints of two cars (or a car and
# a truck, half widths summing to at most 2.15 m) in adjacent 3.5 m lanes no longer overlap
# laterally: the minimum-jerk profile has then covered 68 % of the lane width
_AHEAD = 1e-3  # m: leaders are searched from just ahead of the driver, so it never finds itself
_MOVING = 1e-3  # m/s: below this a vehicle keeps its heading


def min_jerk(tau):
    """Minimum-jerk position profile on [0, 1] (Flash & Hogan 1985, J. Neurosci. 5:1688, eq. 2;
    the quintic lane-change path of Werling et al. 2010, ICRA): zero lateral speed and
    acceleration at both ends."""
    return tau * tau * tau * (10.0 + tau * (-15.0 + 6.0 * tau))


def start_lane_change(sim, at, mask, target_y, duration) -> None:
    """Start lane changes where ``mask`` holds, for the entries ``at`` of the (W, A) state:
    towards ``target_y`` over ``duration`` seconds, from the current lateral position."""
    import torch

    for name, value in (("target_y", target_y), ("lc_from", sim.y[at]),
                        ("lc_elapsed", torch.zeros_like(sim.y[at])), ("lc_time", duration)):
        t = getattr(sim, name)
        t[at] = torch.where(mask, value, t[at])


def start_lane_changes_at(sim, q, target_y, duration) -> None:
    """:func:`start_lane_change` for the agents at flat indices ``q`` of the (W, A) state
    (distinct), with their targets and durations."""
    for name, value in (("target_y", target_y), ("lc_from", sim.y.view(-1)[q]),
                        ("lc_elapsed", 0.0), ("lc_time", duration)):
        getattr(sim, name).view(-1)[q] = value


CONFLICT_MARGIN = 5.0  # m: two cars changing into one lane from both sides this close (bumper
# gap along the lane) would meet side by side; the one less far across turns back


def abort_conflicting_changes(sim) -> None:
    """Two drivers changing into the same lane from opposite sides at about the same place
    (MOBIL decides for each alone): the one that has moved less far across returns to its
    lane, over as long as it has been changing (at least 1 s); one leaving an on-ramp never
    turns back."""
    import torch

    changing = sim.lc_time > 0
    up = changing & (sim.target_y > sim.lc_from)
    rows = ((up.any(1)) & (changing & ~up).any(1)).nonzero()[:, 0]  # changes both ways
    if rows.numel() == 0:
        return
    r = sim.scene.road
    sub = lambda t: t.index_select(0, rows)  # noqa: E731  the worlds that may conflict
    tgt = torch.floor((sub(sim.target_y) - r.y_min) / r.lane_width)
    lc, xc, ids = second_lanes(torch.where(sub(changing), tgt, -1.0).long(), sub(sim.travel()))
    if ids is None or ids.shape[1] < 2:
        return
    P = lambda t, fill: pad(sub(t), fill).gather(1, ids)  # noqa: E731
    side = torch.sign(P(sim.target_y - sim.lc_from, 0.0))
    tau = P(sim.lc_elapsed, 0.0) / P(sim.lc_time, 1.0).clamp(min=1e-6)
    if r.merge_end is not None:  # a driver leaving the on-ramp must merge: the other yields
        tau = tau + torch.where(P(sim.lc_from, 0.0) < r.y_min + r.lane_width, 10.0, 0.0)
    half = 0.5 * pad(sim.scene.length.expand(len(rows), sim.A), 0.0).gather(1, ids)
    near = (xc[:, :, None] - xc[:, None, :]).abs() < half[:, :, None] + half[:, None, :] \
        + CONFLICT_MARGIN
    meet = (lc[:, :, None] == lc[:, None, :]) & (lc[:, :, None] >= 0) & near \
        & (side[:, :, None] * side[:, None, :] < 0)
    behind = (tau[:, :, None] < tau[:, None, :]) | ((tau[:, :, None] == tau[:, None, :])
                                                    & (ids[:, :, None] > ids[:, None, :]))
    back = (meet & behind).any(2)
    if not bool(back.any()):
        return
    at = back.nonzero()
    q = rows[at[:, 0]] * sim.A + ids[at[:, 0], at[:, 1]]
    home = r.center.to(sim.x.dtype)[torch.floor((sim.lc_from.view(-1)[q] - r.y_min)
                                                / r.lane_width).long().clamp(0, r.n_lanes - 1)]
    start_lane_changes_at(sim, q, home, sim.lc_elapsed.view(-1)[q].clamp(min=1.0))


def changer_accelerations(sim, index, acc):
    """Accelerations ``acc`` (W, A) with those of IDM drivers changing lanes replaced: such a
    driver follows the leader of its target lane (as MOBIL assumed when it chose the change) and
    brakes for the leader of its old lane only if it would otherwise reach it before its
    footprint has left that lane (the deceleration that just keeps the minimum gap). Following
    the old leader with the full IDM would brake an overtaking car below the speed of the car
    it passes."""
    import torch

    changing = (sim.lc_time > 0) & sim.idm_free
    if sim.x.device.type == "cpu" and not bool(changing.any()):
        return acc
    r = sim.scene.road

    def lane_of(y):
        return torch.floor((y - r.y_min) / r.lane_width).clamp_(0, r.n_lanes - 1)

    lc, xc, ids = second_lanes(torch.where(changing, lane_of(sim.target_y), -1.0).long(),
                               sim.travel())
    if ids is None:
        return acc
    m = ids.shape[1]
    old = torch.where(lc >= 0, pad(lane_of(sim.lc_from), -1.0).gather(1, ids).long(), -1)
    ahead, _ = index.around(torch.cat((lc, old), 1), xc + _AHEAD)
    lead_old = ahead[:, m:]
    a, gap = sim._idm_between(ids, ahead.view(-1, 2, m))  # new leader | old leader, one pass
    a_new, gap = a[:, 0], gap[:, 1]
    closing = sim.ftab[1].gather(1, ids) - sim.ltab[1].gather(1, lead_old)
    room = gap - sim.ftab[5].gather(1, ids)  # row 5: the minimum gap s0
    T = pad(sim.lc_time, 1.0).gather(1, ids)
    tau = pad(sim.lc_elapsed, 0.0).gather(1, ids) / T.clamp(min=1e-6)
    t_clear = (TAU_CLEAR - tau).clamp(min=0.0) * T
    threat = (lead_old < sim.A) & (closing > 0) & (room < closing * t_clear)
    a_old = torch.where(threat, -closing * closing / (2 * room.clamp(min=0.1)), math.inf)
    return pad(acc, 0.0).scatter(1, ids, torch.minimum(a_new, a_old))[:, :sim.A]


def integrate(sim, acc, ego_lat) -> None:
    """Advance speeds, headings and positions by one step with accelerations ``acc`` (W, A)
    and, for an externally driven ego, its lateral speed ``ego_lat`` (W,).

    Braking is capped at the friction limit. After a crash the wheels lock: a collided agent
    slides to a stop at the friction limit along the heading it had at impact (no instant
    stop, no heading reset)."""
    import torch

    dt = sim.dt
    acc = torch.maximum(acc, -sim.max_brake)
    acc = torch.where(sim.collided, -sim.max_brake, acc)
    v = (sim.v + acc * dt).clamp(min=0.0)
    sim.acc = (v - sim.v) / dt
    # lateral motion of lane-bound vehicles: the minimum-jerk profile of their lane change
    active = sim.lc_time > 0
    sim.lc_elapsed = torch.where(active, sim.lc_elapsed + dt, 0.0)
    tau = (sim.lc_elapsed / sim.lc_time.clamp(min=1e-6)).clamp(max=1.0)
    goal = sim.lc_from + (sim.target_y - sim.lc_from) * min_jerk(tau)
    vy = torch.where(active, (goal - sim.y) / dt, 0.0)
    if sim.policy.name == "external":
        vy[:, 0] = ego_lat
    limit = v * _SIN_MAX
    vy = torch.minimum(torch.maximum(vy, -limit), limit)
    sin_l = vy / v.clamp(min=_MOVING)
    moving = v > _MOVING
    steer = sim.scene.lane_bound & ~sim.collided & moving
    if sim.two_way:  # on an oncoming lane the heading is pi - asin(v_y / v)
        cos_l = sim.dirn * torch.sqrt(1.0 - sin_l * sin_l)
        h_l = torch.where(sim.dirn > 0, torch.asin(sin_l), math.pi - torch.asin(sin_l))
    else:
        cos_l, h_l = None, None
    if bool(sim.all_lane_bound) and sim.x.device.type == "cpu" \
            and not sim.collided.numpy().any() and not sim.two_way:
        s = torch.where(moving, sin_l, torch.sin(sim.h))
        c = torch.sqrt(1.0 - s * s)
        h = torch.where(moving, torch.asin(sin_l), sim.h)
    else:
        c0, s0 = sim.trig()
        s = torch.where(steer, sin_l, s0)
        c = torch.where(steer, torch.sqrt(1.0 - sin_l * sin_l) if cos_l is None else cos_l, c0)
        h = torch.where(steer, torch.asin(sin_l) if h_l is None else h_l, sim.h)
    sim.x = sim.x + v * c * dt
    sim.y = sim.y + v * s * dt
    sim.h, sim.v = h, v
    sim._memo["trig"] = ((h,), torch.stack((c, s)))  # cos and sin of the new headings
    done = active & (tau >= 1.0) & ((sim.target_y - sim.y).abs() < 1e-3)
    sim.lc_time = torch.where(done, 0.0, sim.lc_time)
    if sim.policy.name == "external":
        sim.target_y[:, 0] = sim.y[:, 0]


BEND_PREVIEW = 2.0  # s: drivers slow for the curvature they reach this far ahead


def limit_in_bends(sim) -> None:
    """Desired speeds capped in bends: v <= sqrt(a_lat / |kappa|) for the curvature
    ``BEND_PREVIEW`` seconds ahead (``road.curve_lateral_accel``, Reymond et al. 2001)."""
    import torch

    r = sim.scene.road
    ahead = sim.x + sim.dirn * sim.v * BEND_PREVIEW
    kappa = r.frame.curvature(ahead).abs().clamp(min=1e-6)
    v0 = torch.minimum(sim.v0_base, torch.sqrt(r.curve_accel / kappa))
    sim.params["desired_speed"] = v0
    sim.ftab[3, :, :-1] = v0


RAMP_SIGHT = 80.0  # m before its end from which a ramp driver brakes for it (earlier, MOBIL's
# merge bias moves it over; cf. Treiber & Kesting 2013, Traffic Flow Dynamics, ch. 14.5)
RAMP_LAST = 3.0  # m: a merging driver still brakes for the ramp's end this close to it
MERGE_BIAS = 1.0  # m/s^2 added to MOBIL's incentive to leave the ramp (Kesting et al. 2007's
# bias term for a mandatory change)


def ramp_end(sim, lane, acc):
    """The end of an on-ramp (lane 0 at ``road.merge_end``) as a standing obstacle for the
    drivers still on it: they stop before it unless MOBIL finds them a gap to merge into (a
    driver already merging ignores it until the last metres)."""
    import torch

    from synthscape_autonomy.models import idm_scaled

    end = sim.scene.road.merge_end
    p = sim.params
    gap = end - sim.x - 0.5 * sim.scene.length
    r = sim.scene.road
    leaving = (sim.lc_time > 0) & (sim.target_y > r.y_min + r.lane_width)  # merging already
    on = (lane == 0) & (sim.dirn > 0) & (gap > -0.5 * sim.scene.length) & (gap < RAMP_SIGHT) \
        & (~leaving | (gap < RAMP_LAST))
    a = idm_scaled(sim.v, p["desired_speed"], p["time_headway"], p["min_gap"], p["max_accel"],
                   sim.two_sqrt_ab, gap, sim.v)
    return torch.where(on, torch.minimum(acc, a), acc)
