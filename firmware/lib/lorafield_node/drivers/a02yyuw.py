"""DFRobot A02YYUW (SEN0311) ultrasonic distance, UART 9600 8N1 (DFRobot SEN0311 wiki).

Processed-value mode: a 4-byte frame about every 100 ms: 0xFF, distance high, distance low
(mm), checksum = (0xFF + high + low) & 0xFF. The reader drops what is buffered (stale
frames from before), then collects `count` frames with a valid checksum, resynchronising on
the 0xFF header after a bad one. Times out (SensorError) when nothing valid arrives. It
waits with the clock (CPU awake): an ESP32 in light sleep stops its UART and loses bytes.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import SensorError

_HEADER = const(0xFF)
_FRAME_MS = const(100)
STARTUP_MS = const(600)  # first frame after the sensor is powered (>= 500 ms)


class A02YYUW:
    def __init__(self, uart, clock):
        self.uart = uart
        self.clock = clock
        self._frame = bytearray(4)
        self._n = 0
        self.bad_frames = 0

    def _feed(self, byte, out, count):
        f = self._frame
        if self._n == 0 and byte != _HEADER:
            return
        f[self._n] = byte
        self._n += 1
        if self._n < 4:
            return
        self._n = 0
        if (f[0] + f[1] + f[2]) & 0xFF == f[3]:
            if len(out) < count:
                out.append((f[1] << 8) | f[2])
        else:
            self.bad_frames += 1
            # the header may be inside the bad frame: resynchronise on the next 0xFF
            for i in (1, 2, 3):
                if f[i] == _HEADER:
                    rest = f[i:4]
                    for j in range(len(rest)):
                        f[j] = rest[j]
                    self._n = len(rest)
                    break

    def read_mm(self, count=5, timeout_ms=None):
        """`count` distances (mm) from consecutive valid frames, oldest first."""
        if timeout_ms is None:
            timeout_ms = (count + 3) * _FRAME_MS
        uart = self.uart
        while uart.any():
            uart.read()
        self._n = 0
        out = []
        clock = self.clock
        start = clock.ticks_ms()
        # The UART's RX ring buffer keeps what arrives meanwhile (4 bytes a frame): wait for
        # `count` frames in one sleep, then top up per half frame.
        clock.sleep_ms(count * _FRAME_MS)
        while len(out) < count:
            data = uart.read()
            if data:
                for byte in data:
                    self._feed(byte, out, count)
                continue
            if clock.ticks_diff(clock.ticks_ms(), start) > timeout_ms:
                break
            # clock.sleep_ms, not light sleep: the UART stops receiving in light sleep
            self.clock.sleep_ms(_FRAME_MS // 2)
        if not out:
            raise SensorError("A02YYUW: no valid frame")
        return out
