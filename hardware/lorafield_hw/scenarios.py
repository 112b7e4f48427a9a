"""Seeded, scripted physical scenarios that drive the emulated sensors.

A scenario is the ground truth of the world as a function of virtual time in seconds; the
sensors add their own measurement noise and faults. All randomness comes from the seed, so
the same scenario gives the same field every run.
"""

import math
import random
from bisect import bisect_left, bisect_right

DAY_S = 86_400.0
# A car counts as gone this long after its departure ramp ended: (t - depart) / ramp is then
# well above 1 whatever the float rounding, so its weight is exactly 0.
_GONE_MARGIN_S = 1.0


def _smoothstep(x):
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


class DiurnalTemperature:
    """Air temperature with a daily cosine cycle (minimum before dawn, maximum in the
    afternoon) and relative humidity moving the other way, as it does at constant dew
    point. `start_hour` is the local time at virtual t = 0."""

    def __init__(
        self,
        mean_c=12.0,
        amplitude_c=6.0,
        peak_hour=15.0,
        start_hour=0.0,
        humidity_mean_pct=70.0,
        humidity_swing_pct=20.0,
        weather_sd_c=1.0,
        seed=0,
    ):
        self.mean_c = mean_c
        self.amplitude_c = amplitude_c
        self.peak_hour = peak_hour
        self.start_hour = start_hour
        self.humidity_mean_pct = humidity_mean_pct
        self.humidity_swing_pct = humidity_swing_pct
        # Day-to-day weather: each day's mean is shifted by a seeded amount.
        self.seed = seed
        self.weather_sd_c = weather_sd_c
        self._day_means = {}  # (seed, day, sd) -> that day's weather offset (a seeded draw)

    def _phase(self, t_s):
        hour = (self.start_hour + t_s / 3600.0) % 24.0
        return math.cos(2.0 * math.pi * (hour - self.peak_hour) / 24.0)

    def _day_offset(self, t_s):
        # Interpolated between days so the temperature has no step at midnight.
        days = (t_s + self.start_hour * 3600.0) / DAY_S
        day = math.floor(days)
        a, b = self._day_mean(day), self._day_mean(day + 1)
        return a + (b - a) * (days - day)

    def _day_mean(self, day):
        # Cached: seeding a fresh Random per call cost more than the rest of the model; the
        # draw is a pure function of (seed, day, sd), so the cache returns the same value.
        key = (self.seed, day, self.weather_sd_c)
        value = self._day_means.get(key)
        if value is None:
            value = random.Random(self.seed * 1_000_003 + day).gauss(0.0, self.weather_sd_c)
            self._day_means[key] = value
        return value

    def temperature_c(self, t_s):
        return self.mean_c + self.amplitude_c * self._phase(t_s) + self._day_offset(t_s)

    def humidity_pct(self, t_s):
        rh = self.humidity_mean_pct - self.humidity_swing_pct * self._phase(t_s)
        return min(100.0, max(0.0, rh))


class ParkingScenario:
    """A parking bay: cars arrive and depart at scripted times.

    `events` is a list of (t_s, "arrive" | "depart"), alternating, starting with an arrival.
    Each car has its own magnetic signature (a steel body perturbs the Earth's field by tens
    of uT at a sensor under it; Honeywell AN218 "Vehicle detection using AMR sensors"),
    drawn from the seed; the field ramps over `ramp_s` while the car rolls in or out.
    """

    def __init__(self, events=(), seed=0, ramp_s=3.0, signature_ut=(15.0, 60.0)):
        self.events = sorted((float(t), kind) for t, kind in events)
        expected = "arrive"
        for t, kind in self.events:
            if kind != expected:
                raise ValueError(f"parking event at {t}s: expected {expected!r}, got {kind!r}")
            expected = "depart" if kind == "arrive" else "arrive"
        self.ramp_s = ramp_s
        rnd = random.Random(seed)
        self._cars = []  # (arrive_s, depart_s or inf, (dx, dy, dz) uT)
        arrivals = [t for t, kind in self.events if kind == "arrive"]
        departures = [t for t, kind in self.events if kind == "depart"]
        for i, arrive in enumerate(arrivals):
            depart = departures[i] if i < len(departures) else math.inf
            magnitude = rnd.uniform(*signature_ut)
            # Mostly vertical (engine block and chassis above the sensor), some horizontal.
            dz = -magnitude * rnd.uniform(0.7, 1.0)
            dx = magnitude * rnd.uniform(-0.5, 0.5)
            dy = magnitude * rnd.uniform(-0.5, 0.5)
            self._cars.append((arrive, depart, (dx, dy, dz)))
        # Search keys for field_offset_ut (both sorted: cars come and go one after another).
        self._arrivals = [car[0] for car in self._cars]
        self._gone = [car[1] + ramp_s + _GONE_MARGIN_S for car in self._cars]
        self._keys_ramp_s = ramp_s

    @classmethod
    def generate(cls, seed, hours, arrivals_per_hour=0.8, mean_stay_min=50.0, **kwargs):
        """Poisson arrivals to a free bay and exponential stays, from the seed."""
        rnd = random.Random(seed)
        events = []
        t = 0.0
        end = hours * 3600.0
        while True:
            t += rnd.expovariate(arrivals_per_hour / 3600.0)
            if t >= end:
                break
            events.append((t, "arrive"))
            t += max(60.0, rnd.expovariate(1.0 / (mean_stay_min * 60.0)))
            if t >= end:
                break
            events.append((t, "depart"))
        return cls(events, seed=seed, **kwargs)

    def occupied(self, t_s):
        return any(a <= t_s < d for a, d, _ in self._cars)

    def field_offset_ut(self, t_s):
        cars = self._cars
        if self.ramp_s == self._keys_ramp_s and self.ramp_s > 0:
            # Only cars that have started to arrive and have not long left can weigh more
            # than exactly 0; the others would add +-0.0, so skipping them keeps every sum
            # bit for bit (a day has a few dozen cars, a parking node samples all day).
            hi = bisect_left(self._arrivals, t_s)
            cars = cars[bisect_right(self._gone, t_s, 0, hi) : hi]
        x = y = z = 0.0
        for arrive, depart, (dx, dy, dz) in cars:
            weight = _smoothstep((t_s - arrive) / self.ramp_s)
            if depart != math.inf:
                weight *= 1.0 - _smoothstep((t_s - depart) / self.ramp_s)
            x += weight * dx
            y += weight * dy
            z += weight * dz
        return (x, y, z)


class WaterLevelScenario:
    """A river or ditch under a downward-looking ultrasonic sensor.

    The level sits at `base_level_mm` with a small seeded daily wobble (dry weather); each
    flood (start_s, rise_s, peak_mm, fall_s) rises smoothly by `peak_mm` over `rise_s` and
    recedes over `fall_s`. The sensor is mounted `mount_height_mm` above the bed, so it
    reads distance = mount height - level.
    """

    def __init__(
        self, mount_height_mm=3000.0, base_level_mm=400.0, floods=(), wobble_mm=15.0, seed=0
    ):
        self.mount_height_mm = mount_height_mm
        self.base_level_mm = base_level_mm
        self.floods = [tuple(float(v) for v in flood) for flood in floods]
        for start, rise, peak, fall in self.floods:
            if rise <= 0 or fall <= 0 or peak < 0 or start < 0:
                raise ValueError("flood needs start >= 0, rise > 0, fall > 0, peak >= 0")
        self.wobble_mm = wobble_mm
        self._phase = random.Random(seed).uniform(0.0, 2.0 * math.pi)

    def level_mm(self, t_s):
        level = self.base_level_mm + self.wobble_mm * math.sin(
            2.0 * math.pi * t_s / DAY_S + self._phase
        )
        for start, rise, peak, fall in self.floods:
            up = _smoothstep((t_s - start) / rise)
            down = _smoothstep((t_s - start - rise) / fall)
            level += peak * up * (1.0 - down)
        return min(level, self.mount_height_mm)

    def distance_mm(self, t_s):
        return self.mount_height_mm - self.level_mm(t_s)
