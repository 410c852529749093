"""synthscape_autonomy: a batched driving simulator on torch, ``kind: driving`` scenario files,
edge-case search, gymnasium environments and labelled trajectory datasets.

``register()`` (the ``synthscape.domains`` entry point) is cheap: it registers the scenario kind
and the gymnasium ids; torch and matplotlib are imported only when something runs.
"""
from __future__ import annotations

__all__ = ["register", "ENV_IDS"]

# gymnasium id -> packaged scenario file (scenarios/autonomy/<file>.yaml)
ENV_IDS = {
    "synthscape_autonomy/CarToCarRearStationary-v0": "ccr_stationary",
    "synthscape_autonomy/CarToCarRearMoving-v0": "ccr_moving",
    "synthscape_autonomy/CarToCarRearBraking-v0": "ccr_braking",
    "synthscape_autonomy/CutIn-v0": "cut_in",
    "synthscape_autonomy/PedestrianDartOut-v0": "pedestrian_dart_out",
    "synthscape_autonomy/PedestrianNightRain-v0": "pedestrian_night_rain",
    "synthscape_autonomy/LeadBrakingWet-v0": "lead_braking_wet",
    "synthscape_autonomy/RedLightRunner-v0": "red_light_runner",
    "synthscape_autonomy/Highway-v0": "highway",
}


def _run_driving(spec, ctx) -> None:
    from synthscape_autonomy.kind import run_driving

    run_driving(spec, ctx)


def register() -> None:
    """Register ``kind: driving`` and, when gymnasium is installed, the environment ids."""
    from synthscape.scenarios import KINDS, register_kind
    from synthscape_autonomy.spec import DrivingSpec

    if "driving" not in KINDS._items:
        register_kind("driving", DrivingSpec, _run_driving,
                      "Simulate a logical driving scenario into labelled trajectories",
                      reads_real_data=False)
    register_envs()


def register_envs() -> None:
    try:
        import gymnasium
    except ImportError:  # the 'autonomy' extra is not installed: no environments
        return
    for env_id, family in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="synthscape_autonomy.envs:DrivingEnv",
                               kwargs={"scenario": family},
                               vector_entry_point="synthscape_autonomy.vector_env:DrivingVectorEnv")
