"""Temperature (with humidity, pressure): a DS18B20 (one-wire), an SHT31 or a BME280 (I2C).

One reading every ``interval_s`` (default 15 min), each sent (``temperature``:
temperature_c, humidity_pct with the SHT31). With a ``high_c`` or ``low_c`` threshold
configured the node checks every ``check_s`` (default 300 s, at most the interval) and sends
at once when the reading crosses a threshold (0.5 degC hysteresis before it re-arms), still
sending on the interval otherwise. TemperatureLogic is the pure logic; TemperatureApp does
the I/O.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import struct

from ..drivers import SensorError

_HYST_CC = const(50)
_STATE = "<IB"  # node seconds of the last uplink, alert state (0 normal, 1 high, 2 low)


class TemperatureLogic:
    def __init__(self, interval_s=900, check_s=300):
        self.interval_s = interval_s
        self.check_s = check_s
        self.high_cc = None
        self.low_cc = None
        self.alert = 0
        self.last_sent_s = None

    def set_thresholds(self, thresholds):
        high = thresholds.get("high_c")
        low = thresholds.get("low_c")
        self.high_cc = None if high is None else int(round(high * 100))
        self.low_cc = None if low is None else int(round(low * 100))

    def next_interval_s(self):
        if self.high_cc is None and self.low_cc is None:
            return self.interval_s
        return self.check_s if self.check_s < self.interval_s else self.interval_s

    def step(self, temp_cc, now_s):
        """One reading; True when it is to be sent now."""
        alert = self.alert
        if self.high_cc is not None and temp_cc >= self.high_cc:
            alert = 1
        elif self.low_cc is not None and temp_cc <= self.low_cc:
            alert = 2
        else:
            cool = self.high_cc is None or temp_cc < self.high_cc - _HYST_CC
            warm = self.low_cc is None or temp_cc > self.low_cc + _HYST_CC
            if (alert == 1 and cool) or (alert == 2 and warm):
                alert = 0
        crossed = alert != self.alert and alert != 0
        self.alert = alert
        due = self.last_sent_s is None or now_s - self.last_sent_s >= self.interval_s - 5
        return crossed or due

    def sent(self, now_s):
        self.last_sent_s = now_s

    def pack(self):
        last = self.last_sent_s if self.last_sent_s is not None else 0xFFFFFFFF
        return struct.pack(_STATE, last, self.alert)

    def unpack(self, raw):
        if raw is None or len(raw) != struct.calcsize(_STATE):
            return False
        last, self.alert = struct.unpack(_STATE, raw)
        self.last_sent_s = None if last == 0xFFFFFFFF else last
        return True


class TemperatureApp:
    KIND = "temperature"
    CONTINUOUS = False
    DEFAULTS = {"interval_s": 900, "thresholds": {}}

    def __init__(self, node, settings):
        self.node = node
        self.sensor = settings.get("sensor", "ds18b20")
        self.logic = TemperatureLogic(node.config.interval_s, settings.get("check_s", 300))
        self.logic.unpack(node.store.get("app"))

    def _nap(self, ms):
        self.node.lightsleep(ms)

    def read(self):
        """(centi-degC, per-mille RH or None, Pa or None)."""
        board = self.node.board
        if self.sensor == "sht31":
            from ..drivers.sht31 import SHT31

            t, rh = SHT31(board.i2c(), self.node.clock).read()
            return t, rh, None
        if self.sensor == "bme280":
            from ..drivers.bme280 import BME280

            return BME280(board.i2c(), self.node.clock).read()
        from ..drivers.ds18b20 import DS18B20

        return DS18B20(board.onewire(), self.node.clock, None, self._nap).read(), None, None

    def wake(self):
        node = self.node
        logic = self.logic
        logic.interval_s = node.config.interval_s
        logic.set_thresholds(node.config.thresholds)
        board = node.board
        board.sensor_power(True)
        try:
            temp_cc, rh, pa = self.read()
        except SensorError as e:
            node.error(e.code)
            return
        finally:
            board.sensor_power(False)
        if not -4000 <= temp_cc <= 8500:
            node.error("sensor")  # outside the codec's (and the sensors' rated) range
            return
        now = node.now_s()
        if logic.step(temp_cc, now):
            data = {"temperature_c": temp_cc / 100}
            if rh is not None:
                data["humidity_pct"] = (rh if rh <= 1000 else 1000) / 10
            if pa is not None and 30000 <= pa <= 110000:
                data["pressure_hpa"] = pa / 100
            if node.send("temperature", data) is not None:
                logic.sent(now)
        self.save()

    def save(self):
        self.node.store.put("app", self.logic.pack())

    def sleep_ms(self):
        self.logic.interval_s = self.node.config.interval_s  # a downlink may have changed them
        self.logic.set_thresholds(self.node.config.thresholds)
        return self.logic.next_interval_s() * 1000
