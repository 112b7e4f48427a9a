"""Water level: a downward-looking ultrasonic sensor over a stream or basin.

Each reading takes several pings; ``filter_pings`` keeps those within max(30 mm, 3 x the
median absolute deviation), at most 150 mm, of their median (a wall echo or a lost echo is
an outlier) and returns the median of the rest, or None when fewer than half agree.
Echo-time sensors (JSN-SR04T) are converted with the speed of sound at the air temperature
(c = 331.3 + 0.606 T m/s; from a DS18B20 on the one-wire bus when fitted, else the
``air_temp_c`` setting); the A02YYUW reports millimetres itself. level = mounting height -
distance.

On normal days readings are taken every ``interval_s`` (default 15 min) and sent in batches
of ``batch`` (default 4: one uplink an hour, ``levels_mm`` + ``interval_s``). An alarm
(level >= ``high_mm``, or a rise faster than ``rise_mm`` per hour) is sent at once and
switches to ``alarm_interval_s`` sampling (default 60 s), each reading sent with its alarm;
the all-clear (below high_mm - 50 mm and rising slower than half the rate) is sent too.
WaterLogic is the pure logic; WaterLevelApp does the I/O.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import struct

from ..drivers import SensorError

MAX_BATCH = const(16)
_KEEP = const(24)  # readings kept while uplinks fail (the store holds 128-byte values)
_CLEAR_MM = const(50)  # hysteresis below high_mm before the alarm clears
_ALARMS = ("rise", "high")
_STATE = "<BBiI"  # alarm (0 none, 1 rise, 2 high), batch length, last level, last time


def _mid(s):
    n = len(s)
    if n & 1:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) // 2


def median(values):
    """Median of ints (the lower-rounded mean of the middle two); None for no values."""
    return _mid(sorted(values)) if values else None


def filter_pings(values, min_spread=30, max_spread=150):
    """Median of the pings within max(min_spread, 3 x MAD) of their median, that band
    capped at max_spread (a water surface does not move 15 cm between two pings); None
    when fewer than half of the pings agree (e.g. two clusters: the median means nothing)."""
    if not values:
        return None
    m = _mid(sorted(values))
    mad = _mid(sorted([v - m if v > m else m - v for v in values]))
    limit = 3 * mad if 3 * mad > min_spread else min_spread
    if limit > max_spread:
        limit = max_spread
    kept = [v for v in values if -limit <= v - m <= limit]
    if 2 * len(kept) < len(values):
        return None
    return median(kept)


class WaterLogic:
    def __init__(self, interval_s=900, batch=4, alarm_interval_s=60):
        self.interval_s = interval_s
        self.batch = batch if batch <= MAX_BATCH else MAX_BATCH
        self.alarm_interval_s = alarm_interval_s
        self.high_mm = None
        self.rise_mm = None  # per hour
        self.levels = []
        self.alarm = 0
        self.last_level = None
        self.last_s = 0

    def set_thresholds(self, thresholds):
        self.high_mm = thresholds.get("high_mm")
        self.rise_mm = thresholds.get("rise_mm")

    def next_interval_s(self):
        return self.alarm_interval_s if self.alarm else self.interval_s

    def step(self, level, now_s, distance=None):
        """One reading; returns the uplink data (dict) to send now, or None."""
        rate = 0
        if self.last_level is not None and now_s > self.last_s:
            rate = (level - self.last_level) * 3600 // (now_s - self.last_s)
        self.last_level = level
        self.last_s = now_s
        high = self.high_mm is not None and level >= self.high_mm
        rise = self.rise_mm is not None and rate >= self.rise_mm
        if high or rise:
            self.alarm = 2 if high else 1
            self.levels = []  # the batch's spacing is broken by the faster sampling
            return self._single(level, distance)
        if self.alarm:
            below = self.high_mm is None or level < self.high_mm - _CLEAR_MM
            slow = self.rise_mm is None or 2 * rate < self.rise_mm
            if below and slow:
                self.alarm = 0
            return self._single(level, distance)
        self.levels.append(level)
        if len(self.levels) > _KEEP:
            self.levels.pop(0)  # uplinks have failed for a day or more: oldest go first
        if len(self.levels) >= self.batch:
            return self.flush()
        return None

    def _single(self, level, distance):
        data = {"level_mm": level}
        if self.alarm:
            data["alarm"] = _ALARMS[self.alarm - 1]
        if distance is not None and distance >= 0:
            data["distance_mm"] = distance
        return data

    def flush(self):
        """The batch as uplink data, or None when empty. The batch stays until sent() is
        called, so a power cut during the uplink sends it again rather than losing it."""
        if not self.levels:
            return None
        return {"levels_mm": self.levels, "interval_s": self.interval_s}

    def sent(self, data):
        if "levels_mm" in data:
            self.levels = []

    # -- persistence (between deep sleeps) --------------------------------------------------
    def pack(self):
        n = len(self.levels)
        last = self.last_level if self.last_level is not None else -0x80000000
        head = struct.pack(_STATE, self.alarm, n, last, self.last_s)
        return head + struct.pack("<%di" % n, *self.levels)

    def unpack(self, raw):
        size = struct.calcsize(_STATE)
        if raw is None or len(raw) < size:
            return False
        alarm, n, last, last_s = struct.unpack(_STATE, raw[:size])
        if len(raw) != size + 4 * n:
            return False
        self.alarm = alarm
        self.last_level = None if last == -0x80000000 else last
        self.last_s = last_s
        self.levels = list(struct.unpack("<%di" % n, raw[size:])) if n else []
        return True


class WaterLevelApp:
    KIND = "water_level"
    CONTINUOUS = False
    DEFAULTS = {"interval_s": 900, "thresholds": {}}

    def __init__(self, node, settings):
        self.node = node
        self.settings = settings
        self.mount_mm = settings.get("mount_height_mm", 3000)
        self.pings = settings.get("pings", 5)
        self.sensor = settings.get("sensor", "a02yyuw")
        self.logic = WaterLogic(
            node.config.interval_s, settings.get("batch", 4), settings.get("alarm_interval_s", 60)
        )
        self.logic.set_thresholds(node.config.thresholds)
        # The batch and alarm state carry over deep sleeps, power cuts and resets.
        self.logic.unpack(node.store.get("app"))

    def _air_cc(self):
        if self.settings.get("air_sensor") == "ds18b20":
            from ..drivers.ds18b20 import DS18B20

            try:
                return DS18B20(self.node.board.onewire(), self.node.clock, None, self._nap).read()
            except SensorError:
                pass  # fall back to the configured temperature (less exact, still a level)
        return self.settings.get("air_temp_c", 20) * 100

    def _nap(self, ms):
        self.node.lightsleep(ms)

    def read_distance_mm(self):
        board = self.node.board
        node = self.node
        if self.sensor == "jsn_sr04t":
            from ..drivers.jsn_sr04t import JSNSR04T, echo_to_mm

            air = self._air_cc()
            drv = JSNSR04T(board, board.pin("trigger"), board.pin("echo"))
            node.lightsleep(200)  # module start-up after the rail comes on
            echoes = drv.read_echo_us(self.pings)
            values = [echo_to_mm(e, air) for e in echoes]
        else:
            from ..drivers.a02yyuw import A02YYUW, STARTUP_MS

            drv = A02YYUW(board.uart(), node.clock)
            node.lightsleep(STARTUP_MS)  # nothing to receive yet; stale bytes are dropped
            values = drv.read_mm(self.pings)
        # Farther than the bed is no echo (the A02YYUW then reports its range end).
        far = self.mount_mm + 100
        d = filter_pings([v for v in values if v <= far])
        if d is None:
            raise SensorError("ultrasonic: pings disagree")
        return d

    def wake(self):
        node = self.node
        logic = self.logic
        if logic.interval_s != node.config.interval_s:
            self._send(logic.flush())  # readings taken at the old interval go out as such
            logic.interval_s = node.config.interval_s
        logic.set_thresholds(node.config.thresholds)
        board = node.board
        board.sensor_power(True)
        try:
            distance = self.read_distance_mm()
        except SensorError as e:
            node.error(e.code)
            self._send(logic.flush())  # what was collected goes out; the gap is in the status
            return
        finally:
            board.sensor_power(False)
        self._send(logic.step(self.mount_mm - distance, node.now_s(), distance))

    def _send(self, data):
        self._save()  # first: a power cut during the uplink loses no reading
        if data is not None and self.node.send("water_level", data) is not None:
            self.logic.sent(data)
            self._save()

    def _save(self):
        self.node.store.put("app", self.logic.pack())

    def save(self):
        self._save()

    def sleep_ms(self):
        logic = self.logic
        if logic.alarm:
            return logic.alarm_interval_s * 1000
        return self.node.config.interval_s * 1000
