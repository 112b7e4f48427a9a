"""A02YYUW waterproof ultrasonic distance sensor, UART output (DFRobot SEN0311 wiki).

UART 9600 8N1; in processed-value mode it sends a 4-byte frame about every 100 ms:
0xFF header, distance high byte, distance low byte (mm), checksum = (0xFF + H + L) & 0xFF.
Range 30-4500 mm (readings are clamped to it here; the behaviour outside is not
documented). Average current <= 8 mA.

Faults, seeded: `bad_echo_rate` of frames carry a wrong but well-formed distance (an echo
off the wall of a culvert, or no echo at all: the maximum range); `corrupt_rate` of frames
have a flipped bit, so their checksum fails. The distance comes from a WaterLevelScenario.
"""

from lorafield_hw.sensors.base import Sensor

HEADER = 0xFF
MIN_MM = 30
MAX_MM = 4500
PERIOD_US = 100_000
STARTUP_US = 500_000  # first frame after power-up (an assumption, not from the wiki)
OPERATING_MA = 8.0
_MAX_BURST = 4096  # bytes produced per catch-up; older ones would be overrun anyway


def frame(distance_mm):
    high, low = (distance_mm >> 8) & 0xFF, distance_mm & 0xFF
    return bytes([HEADER, high, low, (HEADER + high + low) & 0xFF])


class A02YYUW(Sensor):
    idle_ma = OPERATING_MA

    def __init__(self, water=None, bad_echo_rate=0.02, corrupt_rate=0.005, baudrate=9600, **kw):
        super().__init__(**kw)
        self.water = water
        self.bad_echo_rate = bad_echo_rate
        self.corrupt_rate = corrupt_rate
        self.byte_us = 10 * 1_000_000 / baudrate  # start + 8 data + stop bits
        self.frames_sent = 0
        self.bad_echoes = 0
        self.corrupted = 0
        self.power_on_reset()

    def power_on_reset(self):
        self._frame_index = 0
        self._byte_index = 0
        self._current = None

    def true_distance_mm(self, t_s):
        return self.water.distance_mm(t_s) if self.water else 1000.0

    def _make_frame(self, t_us):
        t_s = t_us / 1e6
        true = self.true_distance_mm(t_s)
        rnd = self.random
        if rnd.random() < self.bad_echo_rate:
            self.bad_echoes += 1
            reading = MAX_MM if rnd.random() < 0.3 else rnd.uniform(MIN_MM, true)
        else:
            reading = true + rnd.gauss(0.0, 3.0 + 0.003 * true)
        data = bytearray(frame(int(round(max(MIN_MM, min(MAX_MM, reading))))))
        if rnd.random() < self.corrupt_rate:
            self.corrupted += 1
            data[rnd.randrange(1, 4)] ^= 1 << rnd.randrange(8)
        self.frames_sent += 1
        return data

    def uart_receive(self, now_us):
        """Bytes that finished arriving since the last call: [(t_us, byte), ...]."""
        out = []
        if not self.powered:
            return out
        first = self.powered_since_us + STARTUP_US
        while len(out) < _MAX_BURST:
            start = first + self._frame_index * PERIOD_US
            at = start + (self._byte_index + 1) * self.byte_us
            if at > now_us:
                break
            if self._current is None:
                self._current = self._make_frame(start)
            out.append((at, self._current[self._byte_index]))
            self._byte_index += 1
            if self._byte_index == 4:
                self._byte_index = 0
                self._frame_index += 1
                self._current = None
        else:  # a long unread stretch: skip to now (the UART buffer overflowed anyway)
            elapsed = now_us - first
            self._frame_index = max(self._frame_index, int(elapsed // PERIOD_US))
            self._byte_index = 0
            self._current = None
        return out

    def uart_write(self, data):
        pass  # the processed-value mode ignores what it is sent
