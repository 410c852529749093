"""Fixed physical tables: agent footprints, weather and lighting effects, each with its source.

Weather scales the tyre-road friction (maximum braking = mu * g) and the sensor range and adds
perception latency; lighting scales the sensor range and adds latency. Sensor and latency factors
are modelling assumptions of this pack, set to the direction and rough size that adverse-weather
perception studies report (Bijelic et al. 2020, CVPR "Seeing Through Fog").
"""
from __future__ import annotations

G = 9.81  # m/s^2

# type -> (code, length m, width m)
AGENT_TYPES = {
    "car": (0, 4.5, 1.8),  # mid-size passenger car, cf. Euro NCAP Global Vehicle Target (4.0 x 1.8)
    "truck": (1, 12.0, 2.5),  # rigid truck; EU max width 2.55 m (Directive 96/53/EC)
    "pedestrian": (2, 0.5, 0.6),  # adult footprint, cf. Euro NCAP pedestrian target (EPTa)
    "cyclist": (3, 1.8, 0.6),  # bicycle with rider, cf. Euro NCAP bicyclist target (EBTa)
}
TYPE_NAMES = {code: name for name, (code, _, _) in AGENT_TYPES.items()}

# weather -> (peak friction mu, sensor range factor, added latency s);
# mu from Wong, Theory of Ground Vehicles, 4th ed., Table 1.3 (asphalt dry 0.8-0.9, wet 0.5-0.7,
# packed snow 0.2)
WEATHER = {
    "dry": (0.85, 1.0, 0.0),
    "wet": (0.6, 0.9, 0.0),
    "rain": (0.55, 0.7, 0.1),
    "fog": (0.8, 0.4, 0.1),
    "snow": (0.25, 0.6, 0.15),
}

# lighting -> (sensor range factor, added latency s)
LIGHTING = {"day": (1.0, 0.0), "dusk": (0.8, 0.05), "night": (0.5, 0.1)}


def weather_effects(weather: str, lighting: str) -> tuple[float, float, float]:
    """(friction, sensor range factor, added latency) for a weather and lighting pair."""
    from synthscape.errors import SpecError

    if weather not in WEATHER:
        raise SpecError(f"unknown weather {weather!r}; choose one of {sorted(WEATHER)}")
    if lighting not in LIGHTING:
        raise SpecError(f"unknown lighting {lighting!r}; choose one of {sorted(LIGHTING)}")
    mu, rf, lat = WEATHER[weather]
    lf, llat = LIGHTING[lighting]
    return mu, rf * lf, lat + llat


# per-frame detection probability factor: weather and lighting (modelling assumption of this pack,
# same direction as the range factors: camera and lidar returns degrade in rain, fog, snow and
# darkness, Bijelic et al. 2020)
DETECTION = {"dry": 1.0, "wet": 0.98, "rain": 0.9, "fog": 0.8, "snow": 0.85}
DETECTION_LIGHT = {"day": 1.0, "dusk": 0.95, "night": 0.85}


def detection_factor(weather: str, lighting: str) -> float:
    """Factor on the ego sensor's per-frame detection probability (names checked by
    :func:`weather_effects`)."""
    return DETECTION[weather] * DETECTION_LIGHT[lighting]
