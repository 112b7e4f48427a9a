"""Parking with the ESP32 ULP coprocessor sampling (settings ``"sampling": "ulp"``).

The main CPU deep-sleeps (~10 uA) while the ULP-FSM polls the magnetometer every
``sample_s`` over RTC I2C (lorafield_node.ulp.parking) and wakes the CPU only on a
confirmed change or when the heartbeat is due. A boot:

* not a deep-sleep wake (installation, power cut, reset): calibrate the baseline if none is
  stored (CALIBRATION samples 0.5 s apart; the bay must be empty), put the QMC5883L in
  standby, load the ULP program, write baseline/thresholds/state into RTC memory, start it;
* a deep-sleep wake: the node clock is rebuilt from the ULP's sample count (a ULP wake
  comes at no planned time); a state that differs from the last one reported is a change:
  sent with the duration of the previous state, measured when the ULP confirmed it (the
  ULP tracks the baseline's drift itself; the CPU stores it with each change);
* before the deep sleep (``sleep_ms``): the ULP is told when the next heartbeat is due, its
  wake flags and sample counter are cleared, and a timer wake a few samples after the
  heartbeat is the fallback should the ULP stop (that boot restarts it).

The ULP's deviation is Euclidean like the light-sleep detector's, in steps of 0.133 uT.
A change that cannot go out (no network, a duty-cycle wait over 2 min) is not queued
across deep sleep: the status heartbeat carries the state's error instead.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .. import board as contract
from ..drivers import SensorError
from ..ulp import layout as prog

_CAL_GAP_MS = const(500)
_RETRY_S = const(900)  # heartbeat overdue (not sent): the ULP wakes the CPU again in 15 min
_FALLBACK = const(3)  # timer wake this many samples after the heartbeat


class UlpSampling:
    def __init__(self, app, port):
        self.app = app
        self.port = port
        i2c = getattr(port, "i2c", None)  # a real ESP32: the magnetometer on RTC I2C pins
        if i2c is not None:
            app.mag.i2c = i2c()
        self.sample_s = app.sample_ms // 1000 if app.sample_ms >= 1000 else 1

    def _get(self, var):
        return self.port.read(var) & 0xFFFF

    def wake(self):
        app = self.app
        node = app.node
        det = app.detector
        det.set_threshold(node.config.thresholds.get("mag_uT", 8))
        port = self.port
        warm = node.cause == contract.DEEPSLEEP_RESET and self._get(prog.V_MAGIC) == prog.MAGIC
        if not warm:
            self._cold()
        else:
            self._warm()
        if app.pending and node.send("parking", app.pending[0]) is not None:
            app.pending.pop(0)
        on, off = prog.thresholds(det.on // 10)
        port.write(prog.V_ON, on)  # a config downlink may have changed the threshold
        port.write(prog.V_OFF, off)

    def _cold(self):
        app = self.app
        node = app.node
        det = app.detector
        try:
            app.mag.init()
            while not det.calibrated:
                x, y, z = app.mag.read_nt()
                det.update(x, y, z, node.now_s())
                if det.calibrated:
                    app.save()
                else:
                    node.lightsleep(_CAL_GAP_MS)
        except SensorError as e:
            node.error(e.code)
            self.port.write(prog.V_MAGIC, 0)  # the next wake (timer) tries again
            return
        self._start()

    def _start(self):
        app = self.app
        det = app.detector
        port = self.port
        port.set_slave(prog.SLAVE, app.mag.address)
        from ..ulp.parking_image import BINARY  # assembled at deploy time (ulp/parking.py)

        port.load_binary(prog.ENTRY, BINARY)
        for i in range(3):  # detector baseline (1/160 uT) -> LSB (1/120 uT)
            port.write(prog.V_BASE_X + i, prog.bias(det.baseline[i] * 3 // 4))
        port.write(prog.V_DEBOUNCE, det.debounce)
        port.write(prog.V_STATE, 1 if det.occupied else 0)
        for var in (prog.V_PENDING, prog.V_SLEPT, prog.V_CHANGE_AT, prog.V_WAKE, prog.V_DEV):
            port.write(var, 0)
        port.write(prog.V_HEARTBEAT, 0xFFFF)
        port.write(prog.V_T0_S, app.node.now_s())
        port.write(prog.V_MAGIC, prog.MAGIC)
        port.start(prog.ENTRY, self.sample_s * 1_000_000)

    def _warm(self):
        app = self.app
        node = app.node
        det = app.detector
        port = self.port
        t0 = port.read(prog.V_T0_S)
        timer = self._timer_wake()
        if not timer:  # a ULP wake: its sample count tells the time (a timer wake was planned)
            node.rebase(t0 + self._get(prog.V_SLEPT) * self.sample_s)
        baseline = [self._get(prog.V_BASE_X + i) for i in range(3)]
        det.baseline = tuple((b - 0x8000) * 4 // 3 for b in baseline)
        dev = self._get(prog.V_DEV)
        occupied = self._get(prog.V_STATE) == 1
        if occupied != det.occupied:
            at = t0 + self._get(prog.V_CHANGE_AT) * self.sample_s
            lasted = at - det.since_s
            det.occupied = occupied
            det.since_s = at
            mag = (prog.deviation_ut10(dev) + 5) // 10
            app.pending.append(
                {"occupied": occupied, "since_s": lasted if lasted > 0 else 0, "mag_uT": mag}
            )
            app.save()
        if timer:
            self._start()  # the ULP did not wake us in time: load and start it again

    def _timer_wake(self):
        reason = getattr(self.app.node.board, "wake_reason", None)
        return reason is not None and reason() == "timer"

    def sleep_ms(self):
        """Arm the ULP for the coming deep sleep; the fallback timer's period (ms)."""
        node = self.app.node
        port = self.port
        due = node.status_in_s()
        due = due if due > 0 else _RETRY_S
        samples = (due + self.sample_s - 1) // self.sample_s
        samples = samples if samples < 0xFFF0 else 0xFFF0
        port.write(prog.V_HEARTBEAT, samples if samples > 0 else 1)
        port.write(prog.V_T0_S, node.now_s())
        port.write(prog.V_SLEPT, 0)
        port.write(prog.V_WAKE, 0)
        return (samples + _FALLBACK) * self.sample_s * 1000
