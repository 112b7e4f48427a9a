"""The emulated board: runs the real firmware against the virtual world.

    board = EmulatedBoard(scheduler, main, "heltec_lora32_v2", air=air, sensors=[...])
    board.power_on()
    scheduler.run_until(...)

`main(board_view)` is the firmware's entry function (what main.py calls on a device). Each
boot runs it as a scheduler process with a fresh `BootView`, an implementation of the
firmware's BOARD INTERFACE (`lorafield_node.board.Board`). The `EmulatedBoard` itself is
the hardware and outlives boots: flash, radio chip, sensors, battery, energy meter.

Boot and death, as on the device:

* `power_on()` boots with reset cause PWRON_RESET after the profile's boot time;
* `view.deepsleep(ms)` ends the process (every Python object of the firmware is dropped)
  and boots again `ms` later with DEEPSLEEP_RESET; only the flash survives;
* `power_cut()` kills the process at once, at any instant, including inside a flash erase
  or program (which is then torn); `flash.arm_cut(...)` / `cut_at_flash_operation()`
  lands the cut on a chosen flash operation;
* a watchdog that is not fed in time kills the process and boots with WDT_RESET;
* `reset()` is the reset button (HARD_RESET).

After its boot ends, a view is dead: every object it handed out raises ProcessKilled when
used, so a `finally:` in the firmware cannot touch hardware after deep sleep or a cut.

Pin interrupts (the radio's DIO0) are delivered as on MicroPython: the handler runs in the
firmware's thread between two of its board calls (micropython.schedule semantics), and it
ends a light sleep early.

If the firmware's entry function returns, the device would sit in the REPL: the MCU stays
active until the next reset. An exception from the firmware propagates out of the
scheduler (a test sees it) instead of dropping to the REPL.
"""

import bisect
import random

from lorafield_node import board as contract

from lorafield_hw import profiles
from lorafield_hw.buses import I2C, UART, OneWire, Pin
from lorafield_hw.energy import Battery, EnergyMeter, sx1276_state
from lorafield_hw.flash import NorFlash
from lorafield_hw.scheduler import ProcessKilled
from lorafield_hw.tpl5110 import IDD_MA as TPL5110_MA
from lorafield_hw.tpl5110 import Tpl5110
from lorafield_hw.ulp import UlpFsm

CLOCK_READ_US = 10  # reading ticks costs time, so busy-wait loops see the clock move


class DeepSleep(BaseException):
    """Raised by BootView.deepsleep(): the process ends, the board sleeps."""


class _Live:
    """Wraps an object handed to the firmware: usable only while its boot is alive, and
    every call first runs pending pin interrupt handlers (between two statements)."""

    _radio = False  # True: a call may change the radio's state (energy meter polls it)

    def __init__(self, target, view):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_view", view)

    def __getattr__(self, name):
        target = self._target
        attribute = getattr(target, name)
        if not callable(attribute):
            return attribute
        call = self._view._board_call(attribute, self._radio)
        # A method of the target's class is bound once (later lookups skip __getattr__);
        # an attribute set on the instance may be rebound, so it is looked up every time.
        if name not in getattr(target, "__dict__", ()) and hasattr(type(target), name):
            self.__dict__[name] = call
        return call

    def __setattr__(self, name, value):
        setattr(self._target, name, value)

    def __call__(self, *args, **kwargs):
        call = self.__dict__.get("__call__") or self.__getattr__("__call__")
        return call(*args, **kwargs)


class _LiveRadio(_Live):
    """A `_Live` wire to the radio chip (SPI, chip select, reset)."""

    _radio = True


class _EchoPin(Pin):
    """An input driven by a trigger/echo sensor: its level is a function of virtual time."""

    def __init__(self, sensor, clock):
        super().__init__("echo", Pin.IN)
        self._sensor = sensor
        self._clock = clock

    def value(self, v=None):
        if v is not None:
            return None
        return self._sensor.echo_level(self._clock()) if self._sensor else 0

    __call__ = value

    def edges(self, now_us):
        """Times of this pin's coming level changes."""
        pulse = self._sensor.next_edges(now_us) if self._sensor else None
        return [t for t in pulse if t > now_us] if pulse else []


class _Watchdog:
    def __init__(self, board, timeout_ms):
        self._board = board
        self.timeout_ms = timeout_ms
        self.feed()

    def feed(self):
        self._board._arm_watchdog(self.timeout_ms)


class EmulatedClock(contract.Clock):
    def __init__(self, view, ticks_start_ms=0):
        self._view = view
        self._scheduler = view._board.scheduler
        # ticks count from the boot, offset by ticks_start_ms
        self._origin_us = self._scheduler.now_us - ticks_start_ms * 1000

    def _elapsed_us(self):
        self._view._busy(CLOCK_READ_US)
        return self._scheduler.now_us - self._origin_us

    def ticks_ms(self):
        return (self._elapsed_us() // 1000) & contract.TICKS_MAX

    def ticks_us(self):
        return self._elapsed_us() & contract.TICKS_MAX

    def sleep_ms(self, ms):
        self._view._busy(int(ms) * 1000)

    def sleep_us(self, us):
        self._view._busy(int(us))


class BootView(contract.Board):
    """One boot's board (the firmware's BOARD INTERFACE on the emulated hardware)."""

    def __init__(self, board, cause):
        self._board = board
        self._cause = cause
        self._alive = True
        self._pending = []  # (handler, pin) of interrupts not yet delivered
        self._depth = 0
        self._in_handler = False
        self._radio_touched = False  # a radio call since the last poll of its state
        self.name = board.profile.key
        self._wake_reason = board.wake_reason
        self._clock = EmulatedClock(self, board.ticks_start_ms)
        self._radio = None
        self._i2c = self._uart = self._onewire = None
        self._pins = {}
        self._live_pins = {}  # id(pin) -> (pin, the _Live its interrupt handler gets)
        self._flash = self._ulp = self._dio1_live = None  # their _Live, made once
        self._dio0 = Pin("dio0", Pin.IN, dispatch=self._dispatch)
        self._dio1 = Pin("dio1", Pin.IN, dispatch=self._dispatch)

    # -- liveness and interrupts -----------------------------------------------------------
    def _check(self):
        if not self._alive:
            raise ProcessKilled("this boot is over")

    def _enter(self):
        if not self._alive:
            raise ProcessKilled("this boot is over")
        self._depth += 1
        if self._depth == 1 and self._pending:
            self._run_pending()

    def _leave(self):
        self._depth -= 1
        if self._depth == 0:
            self._settle()

    def _settle(self):
        """After the outermost board call: the energy meter's view of the radio, brown-out."""
        board = self._board
        if self._radio_touched:  # only a radio call can change the chip's registers
            self._radio_touched = False
            board._poll_radio()
        board._check_battery()

    def _board_call(self, method, radio):
        """The wrapper `_Live` hands out for `method`: `_enter()`, the call, `_leave()`,
        inlined with the fast paths of `_settle()`, because it runs at every board call."""
        view = self
        board = self._board
        scheduler = board.scheduler
        energy = board.energy

        def call(*args, **kwargs):
            if not view._alive:
                raise ProcessKilled("this boot is over")
            if view._depth:  # inside another board call (an IRQ handler's): that one settles
                if radio:
                    view._radio_touched = True
                return method(*args, **kwargs)
            view._depth = 1
            try:
                if view._pending:
                    view._run_pending()
                return method(*args, **kwargs)
            finally:
                view._depth = 0
                if radio or view._radio_touched:
                    view._radio_touched = False
                    polled = board._radio_polled
                    # an unchanged power_version is _poll_radio()'s own early return
                    if polled is None or board.radio.power_version != polled:
                        board._poll_radio()
                if scheduler.now_us >= energy.empty_at_us:  # else not flat: _check_battery
                    board._check_battery()

        return call

    def _dispatch(self, handler, pin):
        self._pending.append((handler, pin))
        process = self._board.process
        if process is not None and process.alive:
            process.notify()

    def _run_pending(self):
        if self._in_handler:
            return
        self._in_handler = True
        try:
            while self._pending and self._alive:
                handler, pin = self._pending.pop(0)
                known = self._live_pins.get(id(pin))
                if known is None:  # (the pin is kept too, so its id is never reused)
                    known = self._live_pins[id(pin)] = (pin, _Live(pin, self))
                handler(known[1])
        finally:
            self._in_handler = False

    def _busy(self, us):
        """Spend `us` of virtual time with the MCU active (an IRQ does not shorten it)."""
        if not self._alive:
            raise ProcessKilled("this boot is over")
        board = self._board
        scheduler = board.scheduler
        us = int(us)
        if us > 0:
            deadline = scheduler.now_us + us
            if not scheduler.skip_to(deadline):
                while scheduler.now_us < deadline:
                    scheduler.advance(deadline - scheduler.now_us)
                    self._check()
        if self._depth == 0:
            if scheduler.now_us >= board.energy.empty_at_us:  # else not flat: _check_battery
                board._check_battery()
            if self._pending:
                self._run_pending()

    # -- radio -----------------------------------------------------------------------------
    def radio(self):
        self._check()
        if self._radio is None:
            chip = self._board.radio
            if chip is None:
                raise OSError(19, "this board has no radio fitted")
            from lorafield_hw.radio_bus import MachineSPI, chip_select_line, reset_line

            self._dio0.drive(chip.dio0.value())
            self._dio1.drive(chip.dio1.value())
            self._radio = (
                _LiveRadio(MachineSPI(chip), self),
                _LiveRadio(chip_select_line(chip), self),
                _LiveRadio(reset_line(chip), self),
                _Live(self._dio0, self),
            )
        return self._radio

    def radio_dio1(self):
        self.radio()
        if self._dio1_live is None:
            self._dio1_live = _Live(self._dio1, self)
        return self._dio1_live

    # -- sensor buses ----------------------------------------------------------------------
    def i2c(self):
        self._check()
        if self._i2c is None:
            self._i2c = _Live(I2C(self._board.i2c_devices, advance=self._busy), self)
        return self._i2c

    def uart(self):
        self._check()
        if self._uart is None:
            board = self._board
            device = board.uart_device
            uart = UART(device, clock=lambda: board.scheduler.now_us, advance=self._busy)
            self._uart = _Live(uart, self)
        return self._uart

    def onewire(self):
        self._check()
        if self._onewire is None:
            self._onewire = _Live(OneWire(self._board.onewire_devices, advance=self._busy), self)
        return self._onewire

    def pin(self, name):
        self._check()
        if name not in self._pins:
            board = self._board
            if not isinstance(board.profile.pins.get(name), int):
                raise ValueError(f"{board.profile.key} wires no pin {name!r}")
            sensor = board.pulse_device
            if name == "trigger":
                on_change = sensor.trigger_changed if sensor is not None else None
                pin = Pin("trigger", Pin.OUT, on_change=on_change)
            elif name == "echo":
                pin = _EchoPin(sensor, lambda: board.scheduler.now_us)
            else:
                pin = Pin(name, Pin.OUT)
            self._pins[name] = _Live(pin, self)
        return self._pins[name]

    def time_pulse_us(self, pin, pulse_level, timeout_us=1_000_000):
        self._check()
        target = pin._target if isinstance(pin, _Live) else pin
        now = self._board.scheduler.now_us
        edges = target.edges(now) if hasattr(target, "edges") else []
        start = now
        if target.value() != pulse_level:
            if not edges or edges[0] - now > timeout_us:
                self._busy(timeout_us)
                return -2
            start, edges = edges[0], edges[1:]
            self._busy(start - now)
        if not edges or edges[0] - start > timeout_us:
            self._busy(timeout_us)
            return -1
        self._busy(edges[0] - start)
        return edges[0] - start

    def sensor_power(self, on):
        self._check()
        if self._board.profile.switched_sensor_rail:
            self._board._set_rail(bool(on))

    # -- time and power --------------------------------------------------------------------
    def clock(self):
        self._check()
        return self._clock

    def lightsleep(self, ms):
        self._enter()
        try:
            board = self._board
            scheduler = board.scheduler
            deadline = scheduler.now_us + max(0, int(ms)) * 1000
            board.light_sleeps += 1
            board._set_mcu("lightsleep")
            board._check_battery()
            wait = board.process.wait
            try:
                while scheduler.now_us < deadline and not self._pending:
                    wait(deadline - scheduler.now_us)
                    if not self._alive:
                        raise ProcessKilled("this boot is over")
            finally:
                if self._alive:
                    board._set_mcu("active")
            if self._pending:
                self._run_pending()
        finally:
            self._leave()

    def deepsleep(self, ms=None):
        self._check()
        self._board._deepsleep(ms)
        raise DeepSleep(ms)

    def planned_sleep_ms(self, ms):
        """How long deepsleep(ms) will last: on a TPL5110-gated board a sleep of at least its
        period is the time to the timer's next period (lorafield_boards.common)."""
        tpl = self._board.tpl5110
        if tpl is None or ms < tpl.period_us // 1000:
            return ms
        return tpl.until_next_period_us() // 1000

    def rtc_ms(self):
        """The RTC domain: counts since power-on, through light and deep sleep and resets;
        a power cut restarts it at 0 (lorafield_node.board.Board.rtc_ms)."""
        self._check()
        return (self._board.scheduler.now_us - self._board.rtc_epoch_us) // 1000

    def watchdog(self, timeout_ms):
        self._check()
        if timeout_ms <= 0:
            raise ValueError("watchdog timeout must be > 0 ms")
        return _Live(_Watchdog(self._board, int(timeout_ms)), self)

    def reset_cause(self):
        return self._cause

    # -- the ULP coprocessor (ESP32 profiles; lorafield_hw.ulp) ------------------------------
    def wake_reason(self):
        """Why a deep sleep ended: "timer", "ulp", or None (not a deep-sleep wake)."""
        return self._wake_reason

    def ulp(self):
        """The ULP-FSM as the firmware drives it (load_binary, set_slave, start, read,
        write), or None on a board without one."""
        self._check()
        ulp = self._board.ulp
        if ulp is not None and self._ulp is None:
            self._ulp = _Live(ulp, self)
        return self._ulp

    # -- storage ---------------------------------------------------------------------------
    def flash(self):
        self._check()
        if self._flash is None:
            self._flash = _Live(self._board.flash, self)
        return self._flash

    def flash_prog_size(self):
        return self._board.flash.prog_size

    # -- identity and health ---------------------------------------------------------------
    def battery_mv(self):
        self._check()
        meter = self._board.energy
        meter.update()
        return int(round(meter.battery.voltage_mv(meter.current_ma())))

    def unique_id(self):
        return self._board.uid

    def random_bytes(self, n):
        self._check()
        return self._board._random.randbytes(n)


class EmulatedBoard:
    """The hardware of one emulated node (see the module docstring)."""

    def __init__(
        self,
        scheduler,
        main,
        profile="heltec_lora32_v2",
        *,
        name="node",
        air=None,
        radio=None,
        position=(0.0, 0.0),
        sensors=(),
        flash=None,
        battery=None,
        ticks_start_ms=0,
        seed=0,
        options=None,
    ):
        self.scheduler = scheduler
        self.main = main
        self.profile = profiles.get(profile) if isinstance(profile, str) else profile
        self.name = name
        self.ticks_start_ms = ticks_start_ms
        self._random = random.Random(f"{name}/{seed}/rng")
        uid = random.Random(f"{name}/{seed}/uid")
        self.uid = uid.randbytes(self.profile.unique_id_bytes)
        self.flash = flash or NorFlash(
            block_size=self.profile.flash_block_size,
            block_count=self.profile.flash_blocks,
            prog_size=self.profile.flash_prog_size,
            seed=seed,
        )
        self.flash.delay = self._flash_delay
        self.flash.on_cut = self._flash_cut
        chemistry, capacity, cells = self.profile.battery
        self.energy = EnergyMeter(
            lambda: scheduler.now_us,
            battery or Battery(chemistry, capacity, cells),
            self.profile.supply_factor,
        )
        self.radio = radio
        if radio is None and air is not None:
            from lorafield_hw.sx1276 import SX1276

            self.radio = SX1276(scheduler, air, name=f"{name}.sx1276", position=position)
        if self.radio is not None:
            self.radio.dio0.irq(self._on_dio, trigger=3)
            self.radio.dio1.irq(self._on_dio, trigger=3)
            self.radio.mode_listeners.append(self._on_radio_mode)
        self.sensors = list(sensors)
        self.i2c_devices = [s for s in self.sensors if hasattr(s, "i2c_write")]
        self.onewire_devices = [s for s in self.sensors if hasattr(s, "ow_reset")]
        uart = [s for s in self.sensors if hasattr(s, "uart_receive")]
        if len(uart) > 1:
            raise ValueError("one UART sensor per board")
        self.uart_device = uart[0] if uart else None
        pulse = [s for s in self.sensors if hasattr(s, "trigger_changed")]
        self.pulse_device = pulse[0] if pulse else None
        for sensor in self.sensors:
            sensor.charge_hook = self._sensor_charge
            sensor.rail_changed(False)
        self.powered = False
        self.wake_reason = None  # "timer" / "ulp" for the boot a deep sleep's end starts
        self.ulp = None
        if self.profile.mcu == "esp32":
            self.ulp = UlpFsm(
                scheduler, self.i2c_devices, self.energy, self._ulp_wake, horizon=self._ulp_horizon
            )
        self._expected = []  # sorted times the field acts on or looks at this board (expect)
        self.rtc_epoch_us = 0
        self.rail_on = False
        self.process = None
        self.view = None
        self.boots = []  # (time_us, reset cause) of every boot
        self.light_sleeps = 0  # each ends in a wake without a boot
        self.halted = False
        self._wake_event = None
        self._boot_event = None
        self._watchdog = scheduler.timer(self._watchdog_bites)  # fed far more than it bites
        self._browning_out = False
        self.browned_out = False
        self._radio_polled = None  # the radio's power_version the meter last read
        # Board options of the device config (lorafield_boards.make_board's): a TPL5110
        # power gate with its period (the firmware's settings name its DONE pin too).
        tpl = (options or {}).get("tpl5110")
        self.tpl5110 = None
        if tpl:
            self.tpl5110 = Tpl5110(scheduler, tpl["period_s"], self._gate_off, self._power_load)
        # The marker file a gated board writes before it sleeps, so that the TPL5110's next
        # power-on reads as a timed wake (lorafield_boards.common); read at the next boot.
        self._gate_marker = False

    # -- external actions ------------------------------------------------------------------
    def power_on(self, delay_ms=0):
        """Connect the battery; boots with PWRON_RESET."""
        if self.powered:
            raise RuntimeError(f"{self.name} is already powered")
        self.powered = True
        if self.tpl5110 is not None:
            self.tpl5110.start()
        self._power_load(delay_ms * 1000)

    def _power_load(self, delay_us=0):
        """The board's supply comes on (battery connected, or a power gate opens): a power-on
        reset, which the firmware reads as a timed wake if a gated sleep left its marker
        (a file: it outlives a battery change too)."""
        cause = contract.DEEPSLEEP_RESET if self._gate_marker else contract.PWRON_RESET
        self.wake_reason = None
        if cause == contract.PWRON_RESET:
            self.rtc_epoch_us = self.scheduler.now_us  # the RTC domain starts with the power
        self.energy.set("board", "on", self.profile.currents["board_floor"])
        if self.radio is not None:
            self.radio.set_reset(False)  # power-on reset of the chip: registers to defaults
            self.radio.set_reset(True)
        if not self.profile.switched_sensor_rail:
            self._set_rail(True)
        self._poll_radio()  # the chip wakes from its power-on reset in FSK standby
        self._schedule_boot(cause, delay_us)

    def power_cut(self):
        """Remove power now: the firmware stops where it is; RAM, radio and sensor state
        are lost; the flash keeps what it had (a flash operation in progress is torn)."""
        if not self.powered:
            return
        self.powered = False
        if self.tpl5110 is not None:
            self.tpl5110.stop()
        self._unpower_load("off", 0.0)
        if self.process is not None and self.process.alive:
            self.process.kill()

    def _unpower_load(self, label, board_ma):
        """The board's supply is gone: the firmware's boot ends where it is, RAM, radio and
        sensor state are lost; the board draws `board_ma` (a power gate's own current)."""
        self._end_boot()
        if self.ulp is not None:
            self.ulp.power_off()
        if self.radio is not None:
            self.radio.set_reset(False)  # unpowered: no activity, registers lost
            self.radio.deselect()
        self._set_rail(False)
        self._set_mcu("off")
        self.energy.set("board", label, board_ma)
        self._poll_radio()

    # -- the TPL5110 power gate (lorafield_hw.tpl5110) ---------------------------------------
    def _gate_off(self):
        """DONE, or the timer's watchdog cut: the load is off, the timer keeps counting."""
        self._unpower_load("tpl5110 off", TPL5110_MA)
        process = self.process
        if process is not None and process.alive and self.scheduler.current_process is not process:
            process.kill()  # the watchdog's cut (DONE comes from the firmware itself)

    def reset(self):
        """The reset button: reboot now with HARD_RESET."""
        self._reboot(contract.HARD_RESET)

    def cut_at_flash_operation(self, operation, phase="during", torn=None):
        """Arm a power cut on the flash operation `operation` operations from now."""
        self.flash.arm_cut(self.flash.operations + operation, phase, torn)

    @property
    def reset_causes(self):
        return [cause for _, cause in self.boots]

    # -- boots -----------------------------------------------------------------------------
    def _schedule_boot(self, cause, delay_us=0):
        self._check_battery()
        self._set_mcu("active")  # ROM boot and interpreter start-up
        boot_us = delay_us + self.profile.boot_ms * 1000
        self._boot_event = self.scheduler.after(boot_us, self._boot, cause)

    def _boot(self, cause):
        self._boot_event = None
        if not self.powered:
            return
        self._gate_marker = False  # the firmware reads (and removes) the marker at boot
        self.halted = False
        self.boots.append((self.scheduler.now_us, cause))
        if self.radio is not None:
            self.radio.deselect()
        self.view = BootView(self, cause)
        self.process = self.scheduler.spawn(self._run, self.view, name=f"{self.name}.main")

    def _run(self, view):
        try:
            self.main(view)
        except DeepSleep:
            return
        finally:
            view._alive = False
        self.halted = True  # main returned: the REPL idles, MCU active

    def _end_boot(self):
        if self.view is not None:
            self.view._alive = False
        for name in ("_wake_event", "_boot_event"):
            event = getattr(self, name)
            if event is not None:
                event.cancel()
            setattr(self, name, None)
        self._watchdog.cancel()

    def _reboot(self, cause):
        """Kill the running firmware (if any) and boot again with `cause`."""
        if not self.powered:
            return
        self._end_boot()
        if self.process is not None and self.process.alive:
            self.process.kill()
        if self.ulp is not None:
            self.ulp.stop()  # a system reset stops the ULP timer; RTC memory stays
        self.wake_reason = None
        if self.profile.switched_sensor_rail:
            self._set_rail(False)
        self._schedule_boot(cause)

    def _deepsleep(self, ms):
        """Called in the firmware's thread; the process ends right after. On a gated board
        the firmware leaves its marker; a sleep of at least the period raises DONE, a
        shorter one (water-level alarm sampling) is the MCU's own deep sleep, which the
        timer's watchdog cuts short at the end of its period."""
        tpl = self.tpl5110
        if tpl is not None:
            self._gate_marker = True
            if ms is not None and ms >= tpl.period_us // 1000:
                tpl.done()
                return
        self._end_boot()
        ulp_on = self.ulp is not None and self.ulp.running
        if self.profile.switched_sensor_rail and not ulp_on:
            self._set_rail(False)  # Vext's control pin is released in deep sleep
        # (with the ULP sampling, the firmware holds the rail's pin through deep sleep)
        self._set_mcu("deepsleep")
        self._poll_radio()
        if ms is not None:
            self._wake_event = self.scheduler.after(int(ms) * 1000, self._wake)

    def _wake(self):
        self._wake_event = None
        if self.powered:
            self.wake_reason = "timer"
            self._schedule_boot(contract.DEEPSLEEP_RESET)

    def expect(self, time_us):
        """Something outside the board acts on it or reads its meter at `time_us` (the
        field's power cuts and hourly meter readings): the ULP does not run ahead past it."""
        bisect.insort(self._expected, int(time_us))

    def _ulp_horizon(self):
        """How far the ULP may run ahead of the scheduler (UlpFsm `horizon`). While the CPU
        deep-sleeps with its radio asleep and no boot pending, nothing but the ULP touches
        the ULP, the I2C devices or the energy meter until the board's next own event: the
        deep sleep's timer or an expected time; and never past the time the scheduler is
        running to (or its `horizon_us`). None (no running ahead) otherwise: an awake CPU
        may touch it any time."""
        limit = self.scheduler._limit
        if limit is None or self._boot_event is not None or not self.powered:
            return None
        if self.tpl5110 is not None or self.energy.state("mcu")[0] != "deepsleep":
            return None
        if self.radio is not None and self.energy.state("radio")[0] != "sleep":
            return None
        horizon = max(limit, self.scheduler.horizon_us or 0) + 1
        if self._wake_event is not None:
            horizon = min(horizon, self._wake_event.time_us)
        expected = self._expected
        i = bisect.bisect_left(expected, self.scheduler.now_us)  # at now: it may be to come
        if i < len(expected):
            horizon = min(horizon, expected[i])
        return horizon

    def _ulp_wake(self):
        """The ULP's WAKE: ends a deep sleep (lost while the CPU is awake or booting)."""
        if not self.powered or self._boot_event is not None:
            return
        if self.energy.state("mcu")[0] != "deepsleep":
            return
        if self._wake_event is not None:
            self._wake_event.cancel()
            self._wake_event = None
        self.wake_reason = "ulp"
        self._schedule_boot(contract.DEEPSLEEP_RESET)

    # -- watchdog --------------------------------------------------------------------------
    def _arm_watchdog(self, timeout_ms):
        self._watchdog.arm(timeout_ms * 1000)

    def _watchdog_bites(self):
        self._reboot(contract.WDT_RESET)

    # -- flash hooks -----------------------------------------------------------------------
    def _flash_delay(self, us):
        process = self.process
        if process is not None and process.alive and self.scheduler.current_process is process:
            self.view._busy(us)

    def _flash_cut(self):
        """An armed flash power cut fired (in the firmware's thread)."""
        self.powered = False
        if self.tpl5110 is not None:
            self.tpl5110.stop()
        self._unpower_load("off", 0.0)
        raise ProcessKilled("power cut during a flash operation")

    # -- energy ----------------------------------------------------------------------------
    def _check_battery(self):
        """Brown-out: a flat battery cuts the power (checked at board events: each firmware
        call into the board, sleeps and boots)."""
        now = self.scheduler.now_us
        if now < self.energy.empty_at_us:
            return  # the battery cannot be flat yet (EnergyMeter.empty_at_us)
        if self.powered and not self._browning_out and self.energy.empty(now):
            self._browning_out = True
            self.browned_out = True
            self.scheduler.after(0, self._brown_out)

    def _brown_out(self):
        self._browning_out = False
        self.power_cut()

    def _set_mcu(self, state):
        ma = 0.0 if state == "off" else self.profile.currents[state]
        self.energy.set("mcu", state, ma, self.scheduler.now_us)

    def _set_rail(self, on):
        if on == self.rail_on:
            return
        self.rail_on = on
        for sensor in self.sensors:
            sensor.rail_changed(on)
        ma = sum(s.idle_ma for s in self.sensors) if on else 0.0
        self.energy.set("sensors", "on" if on else "off", ma)

    def _sensor_charge(self, mas):
        self.energy.add_charge("sensors", mas)

    def _poll_radio(self):
        """Radio state for the energy meter: on every op-mode change (the chip's
        mode_listeners), and at board events (after each firmware call, reset release)."""
        radio = self.radio
        if radio is None:
            return
        if not self.powered:
            self._radio_polled = None
            self.energy.set("radio", "off", 0.0)
            return
        version = getattr(radio, "power_version", None)  # None: a chip without one
        if version is not None and version == self._radio_polled:
            return  # nothing the current depends on changed since the last poll
        self._radio_polled = version
        label, ma = sx1276_state(radio)
        self.energy.set("radio", label, ma, self.scheduler.now_us)

    def _on_radio_mode(self, _chip, _mode, _now_us):
        self._poll_radio()

    def _on_dio(self, pin):
        if self.view is not None and self.view._alive:
            line = self.view._dio0 if pin is self.radio.dio0 else self.view._dio1
            line.drive(pin.value())

    def energy_report(self):
        self._poll_radio()
        return self.energy.report()
