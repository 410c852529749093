"""``road.signals``: the fixed-time traffic lights of a signalised four-way junction.

Two vehicle signal groups: ``main`` (both directions of the main road) and ``cross`` (both
directions of the crossing road), in a two-phase plan of length ``cycle``::

    main: green | amber | all-red | ..... red ..................... |
    cross: ......... red ..........| green | amber | all-red |

The main road gets ``main_share`` of the green time. Pedestrians walk with the vehicles that
move parallel to them (a crosswalk over the main road walks with ``cross``), during their
group's green less the clearance interval (the crossing's length at ``clearance_speed``).
Defaults and their sources: docs/driving.md ("Signalised junction").
"""
from __future__ import annotations

from pydantic import Field

from synthscape.scenarios import StrictModel
from synthscape_autonomy.spec_types import Sampled


class SignalSpec(StrictModel):
    """Signal timing (sampled per episode where a distribution or '$parameter' is given) and
    the layout of the stop lines and crosswalks around the junction box."""

    cycle: Sampled = 60.0  # s, fixed-time cycle (a short urban cycle, FHWA Signal Timing
    # Manual 2008)
    main_share: Sampled = 0.5  # share of the green time given to the main road
    amber: Sampled = 3.3  # s, ITE: t + v / (2a) = 1.0 + 13.9 / (2 * 3.05) at 50 km/h
    all_red: Sampled = 1.5  # s, ITE: (W + L) / v = (11.2 + 6.1) / 13.9 = 1.25, rounded up
    offset: Sampled = 0.0  # s into the cycle at t = 0 (0: the main green has just begun)
    amber_decel: float = Field(default=3.05, gt=0)  # m/s^2 a driver accepts to stop at amber
    # (ITE 10 ft/s^2); a driver who would need more goes on (the dilemma-zone rule)
    crosswalk_width: float = Field(default=3.0, gt=0)  # m (MUTCD 3B.18: at least 6 ft)
    stop_line_gap: float = Field(default=1.2, ge=0)  # m between stop line and crosswalk
    # (MUTCD 3B.16: at least 4 ft)
    clearance_speed: float = Field(default=1.07, gt=0)  # m/s walking speed of the pedestrian
    # clearance interval (MUTCD 2009 4E.06: 3.5 ft/s)
    cross_length: float = Field(default=150.0, gt=10.0)  # m of crossing road on each side
