"""Parking occupancy: a magnetometer under the bay, sampled every few seconds in light sleep.

A car's steel body changes the Earth's field at the sensor by tens of uT (Honeywell AN218);
the detector compares each sample with a baseline of the empty bay:

* calibration: the first CALIBRATION samples after installation (no stored baseline) are
  averaged into the baseline; the bay must be empty then;
* drift: while the bay is free and the deviation is small, the baseline follows each sample
  by 1/64 (the sensor's offset drifts with temperature, about 0.1 uT/degC);
* hysteresis: occupied when the deviation exceeds ``mag_uT`` (config threshold, default
  8 uT), free again only below 5/8 of it; a car or truck in the next bay is 2 m or more
  away and a dipole's field falls with the cube of the distance, so it stays a few uT, below
  both (and the baseline absorbs it while the bay is free);
* debounce: a change needs DEBOUNCE consecutive samples beyond the threshold, so a car
  driving over the sensor does not flip the state.

With ``"sampling": "ulp"`` on an ESP32 the ULP coprocessor samples instead and the CPU
deep-sleeps (parking_ulp.py); elsewhere that setting falls back to light-sleep sampling.

Each state change is sent at once (``parking``: occupied, how long the previous state lasted,
the deviation), or as soon as the duty cycle allows: changes queue (up to 4) while the
sampling goes on; the status heartbeat goes out every ``interval_s`` (default 1 h).
ParkingDetector is the pure logic (integers only, 0.1 uT units); ParkingApp does the I/O.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import struct

from ..drivers import SensorError

CALIBRATION = const(8)
DEBOUNCE = const(3)
_TRACK_SHIFT = const(6)  # baseline follows 1/64 of each quiet sample
_FRAC = const(16)  # the baseline is kept in 1/16 of 0.1 uT
_MAX_PENDING = const(4)  # changes kept while the duty cycle holds them back
_STATE = "<iiiBI"  # baseline x, y, z (1/160 uT), occupied, since (node seconds)


def _isqrt(n):
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


class ParkingDetector:
    def __init__(self, threshold_ut=8, debounce=DEBOUNCE):
        self.set_threshold(threshold_ut)
        self.debounce = debounce
        self.baseline = None  # (x, y, z) in 1/160 uT, None until calibrated
        self.occupied = False
        self.since_s = 0  # node seconds of the last change
        self.deviation = 0  # last deviation, 0.1 uT
        self._pending = 0
        self._sums = [0, 0, 0]
        self._n = 0

    def set_threshold(self, threshold_ut):
        self.on = threshold_ut * 10  # 0.1 uT
        self.off = self.on * 5 // 8

    @property
    def calibrated(self):
        return self.baseline is not None

    def update(self, x_nt, y_nt, z_nt, now_s):
        """Feed one sample (nT). Returns None, or (occupied, previous state's duration s,
        deviation in whole uT) when the state changes."""
        x, y, z = x_nt // 100, y_nt // 100, z_nt // 100
        if self.baseline is None:
            s = self._sums
            s[0] += x
            s[1] += y
            s[2] += z
            self._n += 1
            if self._n >= CALIBRATION:
                n = self._n
                self.baseline = (s[0] * _FRAC // n, s[1] * _FRAC // n, s[2] * _FRAC // n)
                self.since_s = now_s
            return None
        bx, by, bz = self.baseline
        dx = x - bx // _FRAC
        dy = y - by // _FRAC
        dz = z - bz // _FRAC
        d2 = dx * dx + dy * dy + dz * dz
        self.deviation = _isqrt(d2)
        if not self.occupied:
            if d2 > self.on * self.on:
                self._pending += 1
            else:
                self._pending = 0
                if d2 < self.off * self.off:
                    self.baseline = (
                        bx + (x * _FRAC - bx) // (1 << _TRACK_SHIFT),
                        by + (y * _FRAC - by) // (1 << _TRACK_SHIFT),
                        bz + (z * _FRAC - bz) // (1 << _TRACK_SHIFT),
                    )
        elif d2 < self.off * self.off:
            self._pending += 1
        else:
            self._pending = 0
        if self._pending < self.debounce:
            return None
        self._pending = 0
        self.occupied = not self.occupied
        lasted = now_s - self.since_s
        self.since_s = now_s
        return self.occupied, lasted if lasted > 0 else 0, (self.deviation + 5) // 10

    # -- persistence -----------------------------------------------------------------------
    def pack(self):
        bx, by, bz = self.baseline if self.baseline is not None else (0, 0, 0)
        return struct.pack(_STATE, bx, by, bz, 1 if self.occupied else 0, self.since_s)

    def unpack(self, raw):
        if raw is None or len(raw) != struct.calcsize(_STATE):
            return False
        bx, by, bz, occ, since = struct.unpack(_STATE, raw)
        self.baseline = (bx, by, bz)
        self.occupied = bool(occ)
        self.since_s = since
        return True


class ParkingApp:
    KIND = "parking"
    CONTINUOUS = True
    DEFAULTS = {"interval_s": 3600, "status_s": None, "thresholds": {"mag_uT": 8}}

    def __init__(self, node, settings):
        self.node = node
        self.sample_ms = settings.get("sample_s", 5) * 1000
        board = node.board
        if settings.get("magnetometer") == "hmc5883l":
            from ..drivers.hmc5883l import HMC5883L

            self.mag = HMC5883L(board.i2c(), node.clock)
        else:
            from ..drivers.qmc5883l import QMC5883L

            self.mag = QMC5883L(board.i2c(), node.clock)
        self._ready = False
        self.detector = ParkingDetector(
            node.config.thresholds.get("mag_uT", 8), settings.get("debounce", DEBOUNCE)
        )
        self.detector.unpack(node.store.get("app"))
        self.pending = []  # changes the duty cycle has not let out yet, oldest first
        board.sensor_power(True)
        self.ulp = None
        port = None
        if settings.get("sampling") == "ulp" and settings.get("magnetometer") != "hmc5883l":
            get_port = getattr(board, "ulp", None)  # ESP32 boards only
            port = get_port() if get_port is not None else None
        if port is not None:  # deep sleep between ULP wakes (parking_ulp.py)
            from .parking_ulp import UlpSampling

            self.ulp = UlpSampling(self, port)
            self.CONTINUOUS = False
        else:  # light sleep between samples, also where "ulp" was asked for but is missing
            node.max_wait_ms = 0  # never stop sampling to wait for the duty cycle

    def wake(self):
        if self.ulp is not None:
            self.ulp.wake()
            return
        node = self.node
        self.detector.set_threshold(node.config.thresholds.get("mag_uT", 8))
        try:
            if not self._ready:
                self.mag.init()
                self._ready = True
            x, y, z = self.mag.read_nt()
        except SensorError as e:
            self._ready = False
            node.error(e.code)
            return
        was = self.detector.calibrated
        change = self.detector.update(x, y, z, node.now_s())
        if change is not None:
            occupied, lasted, mag = change
            self.save()
            mag = mag if mag < 32767 else 32767
            self.pending.append({"occupied": occupied, "since_s": lasted, "mag_uT": mag})
            if len(self.pending) > _MAX_PENDING:
                self.pending.pop(0)
        elif self.detector.calibrated and not was:
            self.save()
        if self.pending and node.send("parking", self.pending[0]) is not None:
            self.pending.pop(0)

    def save(self):
        self.node.store.put("app", self.detector.pack())
        self.node.save_clock(0)

    def sleep_ms(self):
        if self.ulp is not None:
            return self.ulp.sleep_ms()
        return self.sample_ms
