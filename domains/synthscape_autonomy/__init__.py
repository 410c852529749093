"""synthscape_autonomy: a batched driving simulator on torch, ``kind: driving`` scenario files,
edge-case search, gymnasium environments and labelled trajectory datasets.

Importing the package registers its gymnasium ids (when gymnasium is installed), as gymnasium
1.x expects of an environment package, so no register call is needed::

    gymnasium.make("synthscape_autonomy:synthscape_autonomy/CutIn-v0")   # imports the package
    import synthscape_autonomy; gymnasium.make("synthscape_autonomy/CutIn-v0")

``register()`` (the ``synthscape.domains`` entry point) adds ``kind: driving`` as well. Both are
cheap and idempotent; torch and matplotlib are imported only when something runs.
"""
from __future__ import annotations

__all__ = ["register", "ENV_IDS"]

# gymnasium id -> packaged scenario file (synthscape_autonomy/scenarios/<file>.yaml)
ENV_IDS = {
    "synthscape_autonomy/CarToCarRearStationary-v0": "ccr_stationary",
    "synthscape_autonomy/CarToCarRearMoving-v0": "ccr_moving",
    "synthscape_autonomy/CarToCarRearBraking-v0": "ccr_braking",
    "synthscape_autonomy/CutIn-v0": "cut_in",
    "synthscape_autonomy/PedestrianDartOut-v0": "pedestrian_dart_out",
    "synthscape_autonomy/PedestrianNightRain-v0": "pedestrian_night_rain",
    "synthscape_autonomy/LeadBrakingWet-v0": "lead_braking_wet",
    "synthscape_autonomy/LeadBrakingDry-v0": "lead_braking_dry",
    "synthscape_autonomy/RedLightRunner-v0": "red_light_runner",
    "synthscape_autonomy/Highway-v0": "highway",
    "synthscape_autonomy/CarToPedestrianFarside-v0": "cpfa",
    "synthscape_autonomy/CarToPedestrianNearside-v0": "cpna",
    "synthscape_autonomy/RuralCurve-v0": "rural_curve",
    "synthscape_autonomy/HighwayMerge-v0": "highway_merge",
    "synthscape_autonomy/PedestrianCrossing-v0": "pedestrian_crossing",
    "synthscape_autonomy/SignalisedJunction-v0": "signalised_junction",
}


def register() -> None:
    """Entry point of the ``synthscape.domains`` group: adds ``kind: driving`` (kind.py) and,
    when gymnasium is installed, the environment ids."""
    from synthscape_autonomy.kind import register as _register

    _register()
    register_envs()


def register_envs() -> None:
    """Register the gymnasium ids of :data:`ENV_IDS` (once; nothing without gymnasium)."""
    try:
        import gymnasium
    except ImportError:  # the 'autonomy' extra is not installed: no environments
        return
    for env_id, family in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="synthscape_autonomy.envs:DrivingEnv",
                               kwargs={"scenario": family},
                               vector_entry_point="synthscape_autonomy.vector_env:DrivingVectorEnv")


register_envs()  # gymnasium 1.x has no plugin entry points: ids come with the import
