"""Per-tick car and ball telemetry for synthesised ``UpdateState`` ticks.

The SPECTATOR fields (``Speed``, ``Boost`` and the ``b*`` flags) only have to look plausible and
stay within the game's ranges: speeds in km/h up to 82.8 (2300 uu/s), supersonic from 79.2 km/h,
boost 0-100. A full 3v3 match at 120 Hz steps a car about 216,000 times, so each step is a handful
of arithmetic operations and at most a few ``random()`` calls on the caller's generator.
"""

from __future__ import annotations

import math
import random

MAX_CAR_SPEED = 82.8  # km/h: 2300 uu/s x 0.036, the maximum seen in real captures
SUPERSONIC_SPEED = 79.2  # km/h: 2200 uu/s
KICKOFF_BOOST = 33

# Bits of a car sample's flags; the renderer turns each set bit into a ``true`` field.
ON_WALL = 1
ON_GROUND = 2
POWERSLIDING = 4
BOOSTING = 8
SUPERSONIC = 16

CarSample = tuple[float, int, int]
"""One car on one tick: (speed km/h, boost 0-100, flag bits)."""

STILL: CarSample = (0.0, KICKOFF_BOOST, ON_GROUND)
"""A car parked for the kickoff countdown or the podium."""

_GROUND, _AIR, _WALL = 0, 1, 2


def ball_speed(post_hit: float, since_hit: float) -> float:
    """Ball speed (km/h) ``since_hit`` seconds after a hit that left it at ``post_hit``.

    Shared by the planner (``BallHit.PreHitSpeed``, ``GoalScored.GoalSpeed``) and the tick
    renderer (``Game.Ball.Speed``), so events and ticks agree about the ball.
    """
    return max(3.0, post_hit * math.exp(-0.12 * since_hit))


class Car:
    """A random walk over speed, boost and surface for one car; :meth:`step` once per tick."""

    __slots__ = ("boost", "boosting", "cruise", "mode", "mode_left", "slide_left", "speed")

    def __init__(self) -> None:
        self.speed = 0.0
        self.boost = float(KICKOFF_BOOST)
        self.boosting = False
        self.cruise = 40.0
        self.mode = _GROUND
        self.mode_left = 1.0
        self.slide_left = 0.0

    def kickoff(self) -> None:
        """Back to the spawn pad: parked, 33 boost."""
        self.speed = 0.0
        self.boost = float(KICKOFF_BOOST)
        self.boosting = False
        self.mode = _GROUND
        self.mode_left = 1.0
        self.slide_left = 0.0

    def wreck(self) -> CarSample:
        """A demolished car's tick: no speed, its boost kept until it respawns."""
        self.speed = 0.0
        self.boosting = False
        return (0.0, int(self.boost), 0)

    def step(self, rng: random.Random, dt: float) -> CarSample:
        """Advance ``dt`` seconds and return this tick's sample."""
        r = rng.random
        self.mode_left -= dt
        if self.mode_left <= 0.0:
            # A new surface phase; it also picks a new cruising speed (changes of pace).
            roll = r()
            self.mode = _GROUND if roll < 0.72 else (_AIR if roll < 0.9 else _WALL)
            self.mode_left = 0.4 + 3.0 * r() if self.mode == _GROUND else 0.3 + 1.5 * r()
            self.cruise = 15.0 + 60.0 * r()
        if self.boosting:
            self.boost -= 33.3 * dt
            if self.boost <= 0.0:
                self.boost = 0.0
                self.boosting = False
            elif r() < 1.6 * dt:
                self.boosting = False
        elif self.boost > 5.0 and r() < 0.7 * dt:
            self.boosting = True
        target = MAX_CAR_SPEED if self.boosting else self.cruise
        speed = self.speed + (target - self.speed) * min(1.0, 1.7 * dt) + (r() - 0.5) * 1.2
        self.speed = speed = min(MAX_CAR_SPEED, max(0.0, speed))
        if r() < 0.45 * dt:
            # Boost pads: mostly small (12), sometimes a big one (to 100).
            self.boost = 100.0 if r() < 0.2 else min(100.0, self.boost + 12.0)
        flags = 0
        if self.mode == _GROUND:
            flags = ON_GROUND
            if self.slide_left > 0.0:
                self.slide_left -= dt
                flags |= POWERSLIDING
            elif r() < 0.15 * dt:
                self.slide_left = 0.3 + 0.4 * r()
        elif self.mode == _WALL:
            flags = ON_WALL | ON_GROUND
        if self.boosting:
            flags |= BOOSTING
        if speed >= SUPERSONIC_SPEED:
            flags |= SUPERSONIC
        return (speed, int(self.boost), flags)
