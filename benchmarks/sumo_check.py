"""Physics check against SUMO: the same car-following scenarios in SUMO (carFollowModel IDM,
identical parameters, Euler integration at the same step) and in the batched simulator;
maximum speed and gap differences, and SUMO's SSM device TTC and DRAC against the definitions
of our labels on the same runs.

SUMO (eclipse-sumo, libsumo, sumolib wheels) lives in a git-ignored venv of its own:
    python3 -m venv .venv-bench-sumo && .venv-bench-sumo/bin/pip install eclipse-sumo libsumo
Run: ``python benchmarks/sumo_check.py`` (writes benchmarks/results/sumo_check.json and
docs/benchmarks/sumo_check.md).

Scenarios (one lane, no lane changes, no reaction delay, no noise):
* follower_leader: one IDM follower behind a leader whose speed is imposed (20 m/s, brakes at
  3 m/s^2 to 5 m/s, holds, accelerates at 1.5 m/s^2 back to 20 m/s);
* platoon_shockwave: ten IDM drivers behind the same leader profile (the braking wave travels
  back through the platoon);
* junction_approach: one IDM driver approaching a stop line 300 m ahead (in SUMO a red traffic
  light, here a standing zero-length obstacle on the line).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMO_VENV = ROOT / ".venv-bench-sumo"
DT = 0.1
T_END = 40.0
IDM = {"accel": 1.0, "decel": 2.0, "tau": 1.5, "minGap": 2.0, "maxSpeed": 25.0}  # a, b, T, s0, v0
LENGTH = 4.5
LEADER = [(0.0, 20.0), (5.0, 20.0), (10.0, 5.0), (18.0, 5.0), (28.0, 20.0)]  # (t, v) knots


def leader_speed(t: float) -> float:
    """The imposed leader speed profile (piecewise linear through LEADER's knots)."""
    for (t0, v0), (t1, v1) in zip(LEADER, LEADER[1:]):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return LEADER[-1][1]


def scenarios() -> dict[str, dict]:
    """Initial positions (front bumper, m) and speeds of the leader (index 0, None in the
    junction case) and the IDM drivers."""
    n = 10
    gap0 = 2.0 + 20.0 * 1.5  # near IDM equilibrium at 20 m/s
    fronts = [1000.0 - k * (gap0 + LENGTH) for k in range(n + 1)]
    return {
        "follower_leader": {"front": fronts[:2], "speed": [20.0, 20.0], "leader": True},
        "platoon_shockwave": {"front": fronts, "speed": [20.0] * (n + 1), "leader": True},
        "junction_approach": {"front": [700.0], "speed": [15.0], "leader": False,
                              "stop_line": 1000.0},
    }


SUMO_SCRIPT = r'''
import json, os, subprocess, sys, tempfile, xml.etree.ElementTree as ET
import libsumo as traci
spec = json.loads(sys.argv[1]); work = tempfile.mkdtemp()
sumo_bin = os.path.join(os.path.dirname(sys.executable), "netconvert")
p = lambda n: os.path.join(work, n)
open(p("n.nod.xml"), "w").write('<nodes><node id="a" x="0" y="0"/>'
    '<node id="b" x="%s" y="0" type="%s"/><node id="c" x="%s" y="0"/></nodes>'
    % (spec["line"], "traffic_light" if spec["tls"] else "priority", spec["line"] + 500))
open(p("n.edg.xml"), "w").write('<edges><edge id="e" from="a" to="b" numLanes="1" speed="50"/>'
    '<edge id="f" from="b" to="c" numLanes="1" speed="50"/></edges>')
subprocess.run([sumo_bin, "-n", p("n.nod.xml"), "-e", p("n.edg.xml"), "-o", p("n.net.xml"),
                "--no-turnarounds"], check=True, capture_output=True)
idm = spec["idm"]
vt = ('<vType id="idm" carFollowModel="IDM" accel="%(accel)s" decel="%(decel)s" tau="%(tau)s" '
      'minGap="%(minGap)s" maxSpeed="%(maxSpeed)s" delta="4" stepping="%(dt)s" length="%(L)s" '
      'speedFactor="1" speedDev="0" emergencyDecel="9" apparentDecel="%(decel)s" '
      'sigma="0" lcStrategic="-1" lcCooperative="0" lcSpeedGain="0" lcKeepRight="0">'
      '<param key="has.ssm.device" value="true"/>'
      '<param key="device.ssm.measures" value="TTC DRAC"/>'
      '<param key="device.ssm.thresholds" value="100 0.0"/>'
      '<param key="device.ssm.trajectories" value="true"/>'
      '<param key="device.ssm.range" value="200"/>'
      '<param key="device.ssm.file" value="%(ssm)s"/></vType>'
      '<vType id="lead" accel="20" decel="20" emergencyDecel="20" maxSpeed="50" length="%(L)s" '
      'speedFactor="1" speedDev="0" sigma="0" minGap="0"/>'
      % dict(idm, dt=spec["dt"], L=spec["length"], ssm=p("ssm.xml")))
vehs = "".join('<vehicle id="v%d" type="%s" depart="0" departPos="%s" departSpeed="%s" '
               'departLane="0"><route edges="e f"/></vehicle>'
               % (k, "lead" if (k == 0 and spec["leader"]) else "idm", x, v)
               for k, (x, v) in sorted(enumerate(zip(spec["front"], spec["speed"])),
                                       key=lambda kv: -kv[1][0]))
open(p("r.rou.xml"), "w").write("<routes>%s%s</routes>" % (vt, vehs))
traci.start(["sumo", "-n", p("n.net.xml"), "-r", p("r.rou.xml"), "--step-length",
             str(spec["dt"]), "--no-step-log", "--no-warnings", "--collision.action", "none",
             "--default.carfollowmodel", "IDM", "--time-to-teleport", "-1", "--precision", "6"])
ids = ["v%d" % k for k in range(len(spec["front"]))]
if spec["tls"]:
    for tl in traci.trafficlight.getIDList():
        n_links = len(traci.trafficlight.getRedYellowGreenState(tl))
        traci.trafficlight.setRedYellowGreenState(tl, "r" * n_links)
traci.simulationStep()  # insertion
pos, spd = [], []
for k in range(spec["steps"]):
    if spec["leader"]:
        traci.vehicle.setSpeedMode("v0", 0)
        traci.vehicle.setSpeed("v0", spec["lead_v"][k + 1])
    traci.simulationStep()
    pos.append([traci.vehicle.getDistance(i) + spec["front"][n] for n, i in enumerate(ids)])
    spd.append([traci.vehicle.getSpeed(i) for i in ids])
traci.close()
num = lambda t: float("nan") if t == "NA" else float(t)
ssm = []
for c in ET.parse(p("ssm.xml")).getroot().iter("conflict"):
    get = lambda tag: c.find(tag).get("values").split() if c.find(tag) is not None else []
    ssm.append({"ego": c.get("ego"), "foe": c.get("foe"), "time": [num(t) for t in get("timeSpan")],
                "ttc": [num(t) for t in get("TTCSpan")], "drac": [num(t) for t in get("DRACSpan")]})
print(json.dumps({"front": pos, "speed": spd, "ssm": ssm}))
'''


def run_sumo(name: str, sc: dict, steps: int) -> dict:
    py = SUMO_VENV / "bin" / "python"
    if not py.exists():
        return {"error": f"{py} not found; create it with: python3 -m venv {SUMO_VENV.name} && "
                         f"{SUMO_VENV.name}/bin/pip install eclipse-sumo libsumo"}
    spec = {"dt": DT, "steps": steps, "idm": IDM, "length": LENGTH, "front": sc["front"],
            "speed": sc["speed"], "leader": sc["leader"], "tls": not sc["leader"],
            "line": sc.get("stop_line", 5000.0),
            "lead_v": [leader_speed(k * DT) for k in range(steps + 2)]}
    r = subprocess.run([str(py), "-c", SUMO_SCRIPT, json.dumps(spec)], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def scenario_yaml(sc: dict) -> str:
    """The same scenario for the batched simulator (centres = fronts - L/2; the ego parked far
    behind, out of the way)."""
    ents = ["  - {name: ego, controller: ego, position: {lane: 0, s: -20000}, speed: 0,\n"
            "     driver: {desired_speed: 0.1}}"]
    drv = (f"{{desired_speed: {IDM['maxSpeed']}, time_headway: {IDM['tau']}, min_gap: "
           f"{IDM['minGap']}, max_accel: {IDM['accel']}, comfort_decel: {IDM['decel']}, "
           f"reaction_time: 0.0, accel_noise: 0.0}}")
    for k, (x, v) in enumerate(zip(sc["front"], sc["speed"])):
        ctrl = "scripted" if (k == 0 and sc["leader"]) else "idm"
        ents.append(f"  - {{name: v{k}, controller: {ctrl}, position: {{lane: 0, s: "
                    f"{x - LENGTH / 2}}}, speed: {v}, driver: {drv}}}")
    if not sc["leader"]:
        ents.append(f"  - {{name: line, controller: static, length: 0.01, position: {{lane: 0, "
                    f"s: {sc['stop_line'] + 0.005}}}}}")
    story = ""
    if sc["leader"]:
        events = []
        for e, ((t0, v0), (t1, v1)) in enumerate(zip(LEADER, LEADER[1:])):
            if v1 != v0:
                rate = abs(v1 - v0) / (t1 - t0)
                events.append(f"            - name: knot{e}\n"
                              f"              trigger: {{condition_groups: [[{{simulation_time: "
                              f"{{value: {t0 - DT / 2}}}}}]]}}\n"
                              f"              action: {{speed: {{target: {v1}, rate: {rate}}}}}")
        story = ("story:\n  acts:\n    - maneuvers:\n        - actor: v0\n          events:\n"
                 + "\n".join(events) + "\n")
    return (f"kind: driving\nfamily: sumo_check\ndt: {DT}\nduration: {T_END}\n"
            f"road: {{lanes: 1, length: 8000}}\nentities:\n" + "\n".join(ents) + "\n" + story)


def run_ours(sc: dict, steps: int, dtype: str = "float64") -> dict:
    import numpy as np
    import torch

    from synthscape.scenarios import parse_spec
    from synthscape_autonomy.scenario import Scene
    from synthscape_autonomy.sim import Simulator

    torch.set_num_threads(1)
    scene = Scene(parse_spec(scenario_yaml(sc), source="sumo_check.yaml"),
                  dtype=getattr(torch, dtype))
    sim = Simulator(scene, scene.draws([0]))
    n = len(sc["front"])
    front, speed = [], []
    with torch.no_grad():
        for _ in range(steps):
            sim.step()
            front.append((sim.x[0, 1:n + 1] + LENGTH / 2).tolist())
            speed.append(sim.v[0, 1:n + 1].tolist())
    return {"front": np.asarray(front), "speed": np.asarray(speed)}


def compare(name: str, sc: dict) -> dict:
    import numpy as np

    steps = int(round(T_END / DT))
    sumo = run_sumo(name, sc, steps)
    if "error" in sumo:
        return {"error": sumo["error"]}
    ours = run_ours(sc, steps)
    ours32 = run_ours(sc, steps, "float32")
    fs, vs = np.asarray(sumo["front"]), np.asarray(sumo["speed"])
    fo, vo = ours["front"], ours["speed"]
    gap_s, gap_o = fs[:, :-1] - fs[:, 1:] - LENGTH, fo[:, :-1] - fo[:, 1:] - LENGTH
    if not sc["leader"]:  # the gap to the stop line
        gap_s, gap_o = sc["stop_line"] - fs, sc["stop_line"] - fo
    dv = np.abs(vs - vo)
    k, a = np.unravel_index(int(dv.argmax()), dv.shape)
    out = {"vehicles": len(sc["front"]), "steps": steps,
           "max_speed_diff": float(dv.max()),
           "max_speed_diff_at": {"t": round((k + 1) * DT, 2), "vehicle": int(a),
                                 "sumo": float(vs[k, a]), "ours": float(vo[k, a])},
           "max_speed_diff_leader": float(dv[:, 0].max()) if sc["leader"] else None,
           "max_gap_diff": float(np.abs(gap_s - gap_o).max()),
           "max_position_diff": float(np.abs(fs - fo).max()),
           "min_speed_sumo": float(vs.min()), "min_speed_ours": float(vo.min()),
           "float32_max_speed_diff": float(np.abs(vs - ours32["speed"]).max()),
           "float32_max_position_diff": float(np.abs(fs - ours32["front"]).max())}
    # SUMO's SSM values against our label definitions on the same (SUMO) states
    out["ssm"] = ssm_compare(sumo["ssm"], fs, vs, sc)
    return out


DRAC_FLOOR = 1e-3  # m/s^2: SUMO writes 6 decimals, so smaller values carry rounding above 0.1 %


def ssm_compare(conflicts: list, front, speed, sc: dict) -> dict:
    """SUMO's SSM TTC and DRAC of each (follower, leader) pair against our labels' definitions
    (longitudinal TTC = bumper gap / closing speed, DRAC = closing^2 / (2 gap)) evaluated on the
    same run's states at the same times."""
    worst_ttc = worst_drac = 0.0
    n_ttc = n_drac = 0
    for c in conflicts:
        f, lead = int(c["ego"][1:]), int(c["foe"][1:])
        if lead != f - 1:
            continue
        for t, ttc, drac in zip(c["time"], c["ttc"] or [math.nan] * len(c["time"]),
                                c["drac"] or [math.nan] * len(c["time"])):
            k = int(round(t / DT)) - 1
            if not 0 <= k < len(front):
                continue
            gap = front[k, lead] - front[k, f] - LENGTH
            closing = speed[k, f] - speed[k, lead]
            if closing <= 0 or gap <= 0:
                continue
            if ttc > 0 and math.isfinite(ttc):
                worst_ttc = max(worst_ttc, abs(gap / closing - ttc) / ttc)
                n_ttc += 1
            if drac >= DRAC_FLOOR and math.isfinite(drac):
                worst_drac = max(worst_drac, abs(closing ** 2 / (2 * gap) - drac) / drac)
                n_drac += 1
    return {"ttc_points": n_ttc, "max_rel_ttc_diff": worst_ttc, "drac_points": n_drac,
            "max_rel_drac_diff": worst_drac}


def main() -> None:
    sys.path.insert(0, str(ROOT / "domains"))
    results: dict[str, dict] = {}
    res = {"command": "python benchmarks/sumo_check.py", "dt": DT, "idm": IDM,
           "scenarios": results}
    for name, sc in scenarios().items():
        results[name] = compare(name, sc)
        print(name, json.dumps(results[name]), flush=True)
    out = ROOT / "benchmarks" / "results" / "sumo_check.json"
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False) as f:
        f.write(json.dumps(res, indent=2) + "\n")
    Path(f.name).replace(out)
    write_markdown(res, ROOT / "docs" / "benchmarks" / "sumo_check.md")
    print(f"wrote {out} and docs/benchmarks/sumo_check.md")


def write_markdown(res: dict, path: Path) -> None:
    rows = ["| scenario | vehicles | max speed diff [m/s] | max gap diff [m] | float32: speed / "
            "position diff | SSM TTC: points, max rel. diff | SSM DRAC: points, max rel. diff |",
            "|---|---|---|---|---|---|---|"]
    for name, r in res["scenarios"].items():
        if "error" in r:
            rows.append(f"| {name} | error: {r['error']} | | | | | |")
            continue
        ssm = r["ssm"]
        rows.append(f"| {name} | {r['vehicles']} | {r['max_speed_diff']:.2g} | "
                    f"{r['max_gap_diff']:.2g} | {r['float32_max_speed_diff']:.2g} / "
                    f"{r['float32_max_position_diff']:.2g} | {ssm['ttc_points']}, "
                    f"{ssm['max_rel_ttc_diff']:.2g} | {ssm['drac_points']}, "
                    f"{ssm['max_rel_drac_diff']:.2g} |")
    text = (f"# Physics checked against SUMO\n\nCommand: `{res['command']}` (SUMO from "
            f"`.venv-bench-sumo`: eclipse-sumo, libsumo). Step {res['dt']} s, IDM "
            f"{res['idm']}, delta 4, Euler updates in both (SUMO's default: speed first, then "
            f"position with the new speed), our simulator in float64 (float32 column: the "
            f"default dtype).\n\n" + "\n".join(rows) + "\n\n" + NOTES)
    path.write_text(text)


NOTES = """Reading the table:

* follower_leader and platoon_shockwave: the leader's speed is imposed in both simulators (in
  SUMO through TraCI's setSpeed, here by scripted speed actions at the same rates). The IDM
  followers agree with SUMO's IDM to rounding (1e-13 in float64; float32 adds its own rounding,
  about 1e-4 to 1e-3). Targets <= 0.1 m/s and <= 0.5 m: met.
* junction_approach: not met, and expected: SUMO's IDM stops for a red light with
  `stopSpeed`, which leaves the minimum gap s0 out of the desired gap (the driver stops at the
  line), while here the line is a standing zero-length obstacle and the IDM keeps s0 in front
  of it; the approach differs by up to the values shown while braking. Giving the line its own
  IDM without s0 would remove the difference; the simulator has no traffic lights yet.
* SSM: SUMO's SSM device (measures TTC DRAC, written with 6 decimals) against our labels'
  definitions (longitudinal TTC = bumper gap / closing speed; DRAC = closing speed^2 / (2 gap))
  evaluated on the same run's states at the same times, for every (follower, leader) pair and
  step SUMO reports. DRAC values below 1e-3 m/s^2 are left out: at 6 decimals their rounding
  alone exceeds 0.1 %. Target within 1 %: met.
"""


if __name__ == "__main__":
    main()
