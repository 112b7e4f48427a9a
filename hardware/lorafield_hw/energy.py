"""Energy accounting: time per state, charge per component, battery voltage and life.

The board tells the meter when a component changes state (MCU active / light sleep / deep
sleep / off, the radio's op mode and TX power, the sensor rail); the meter integrates each
component's current over virtual time. Short active draws (a DS18B20 conversion, an SHT31
measurement) arrive as charge through `add_charge`. The battery's open-circuit voltage
follows its state of charge on a typical discharge curve and sags under load through the
cell's internal resistance.
"""

from lorafield_hw import sx1276_registers as r
from lorafield_hw.profiles import SX1276_CURRENT_MA, SX1276_TX_MA

US_PER_HOUR = 3_600_000_000

# EnergyMeter's record of one component (a list, so a state change touches one object):
# state label, mA, the time its state is counted to, its time_us key, its charge (mA*s).
_LABEL, _MA, _SINCE, _KEY, _CHARGE = range(5)

# Open-circuit voltage per cell against state of charge (%). LiPo: a typical 1-cell
# 3.7 V curve (cut-off 3.0 V); alkaline AA: a typical cell under light load (cut-off 0.9 V).
CURVES = {
    "lipo": (
        (0, 3.00),
        (5, 3.45),
        (10, 3.68),
        (20, 3.74),
        (30, 3.77),
        (40, 3.79),
        (50, 3.82),
        (60, 3.87),
        (70, 3.92),
        (80, 3.98),
        (90, 4.06),
        (100, 4.20),
    ),
    "alkaline": (
        (0, 0.90),
        (10, 1.05),
        (30, 1.15),
        (50, 1.22),
        (70, 1.30),
        (90, 1.42),
        (100, 1.55),
    ),
}
INTERNAL_OHM = {"lipo": 0.15, "alkaline": 0.25}  # per cell, typical


def _interpolate(points, x):
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


class Battery:
    def __init__(self, chemistry="lipo", capacity_mah=1000.0, cells=1, charge_pct=100.0):
        if chemistry not in CURVES:
            raise ValueError(f"unknown battery chemistry {chemistry!r}")
        if capacity_mah <= 0 or cells < 1:
            raise ValueError("battery needs capacity > 0 and >= 1 cell")
        self.chemistry = chemistry
        self.capacity_mah = float(capacity_mah)
        self.cells = cells
        self.used_mah = self.capacity_mah * (1.0 - charge_pct / 100.0)

    @property
    def soc_pct(self):
        return max(0.0, 100.0 * (1.0 - self.used_mah / self.capacity_mah))

    def open_circuit_mv(self):
        return 1000.0 * self.cells * _interpolate(CURVES[self.chemistry], self.soc_pct)

    def voltage_mv(self, load_ma=0.0):
        return self.open_circuit_mv() - load_ma * INTERNAL_OHM[self.chemistry] * self.cells

    @property
    def empty(self):
        return self.soc_pct <= 0.0


def sx1276_tx_ma(power_dbm, pa_boost):
    """TX supply current, interpolated between the datasheet's IDDT points of the PA in use
    (linear in dBm; below the lowest point extrapolated, floored)."""
    (p0, i0), (p1, i1) = SX1276_TX_MA["pa_boost" if pa_boost else "rfo"]
    current = i0 + (i1 - i0) * (power_dbm - p0) / (p1 - p0)
    return max(current, 29.0 if pa_boost else 10.0)


def sx1276_state(chip):
    """(label, mA) of an emulated SX1276 from its registers: op mode, PA, LNA, band."""
    if getattr(chip, "_reset_low", False):
        return "sleep", SX1276_CURRENT_MA["sleep"]
    mode = chip.regs[r.REG_OP_MODE] & r.MODE_MASK
    if mode == r.MODE_SLEEP:
        return "sleep", SX1276_CURRENT_MA["sleep"]
    if mode == r.MODE_STDBY:
        return "standby", SX1276_CURRENT_MA["standby"]
    if mode in (r.MODE_FSTX, r.MODE_FSRX):
        return "fs", SX1276_CURRENT_MA["fs"]
    if mode == r.MODE_TX:
        pa_boost = bool(chip.regs[r.REG_PA_CONFIG] & 0x80)
        power = chip.tx_power_dbm
        label = f"tx {power:g} dBm {'PA_BOOST' if pa_boost else 'RFO'}"
        return label, sx1276_tx_ma(power, pa_boost)
    # RX continuous, RX single, CAD
    if chip.frequency_hz < r.LF_HF_BOUNDARY_HZ:
        return "rx", SX1276_CURRENT_MA["rx_band23"]
    boost = chip.regs[r.REG_LNA] & 0x03 == 0x03
    return "rx", SX1276_CURRENT_MA["rx_band1_boost" if boost else "rx_band1"]


class EnergyMeter:
    """Integrates lazily: the battery's charge moves with the total current at each
    `update()` (one multiply), and a component's time-in-state and charge are added up when
    that component changes state or when `time_us` / `charge_mas` are read. The sums are the
    same as integrating every component at every call.

    The board asks "is the battery flat?" at every firmware call, so the meter keeps
    `empty_at_us`: a time before which the battery cannot be flat (recomputed when the
    charge drops or the current rises; a falling current only moves the crossing later). A
    clock reading below it is the whole check; at or after it `empty()` does the exact sum.
    Code that changes `battery.used_mah` behind the meter's back must call `update()`.

    Components draw at the board's rail; the battery supplies `supply_factor` times that
    (a boost converter's; 1 for a linear regulator). `charge_mas` is at the rail,
    `total_mah()`, `average_ma()` and the battery's charge are at the cells."""

    COMPONENTS = ("mcu", "board", "radio", "sensors", "ulp")  # ulp: ESP32 ULP runs (charge)
    NEVER_US = 1 << 62  # empty_at_us when nothing draws current

    def __init__(self, clock, battery=None, supply_factor=1.0):
        self._clock = clock  # callable -> now in us
        self.battery = battery or Battery()
        self.supply_factor = float(supply_factor)
        self.start_us = clock()
        self._components = {
            c: ["off", 0.0, self.start_us, f"{c} off", 0.0] for c in self.COMPONENTS
        }
        self._currents = [0.0] * len(self.COMPONENTS)  # in COMPONENTS order, for sum()
        self._index = {c: i for i, c in enumerate(self.COMPONENTS)}
        self._time_us = {}  # "component state" -> us
        self._total_ma = 0.0
        self._last_us = self.start_us  # the battery's charge is counted to here
        self._margin = self.battery.capacity_mah * 3.6  # mA*us: 1e-9 of the capacity
        self.empty_at_us = self.NEVER_US
        self._reckon()

    @property
    def time_us(self):
        self._flush_all()
        return self._time_us

    @property
    def charge_mas(self):
        """mA*s per component."""
        self._flush_all()
        return {c: record[_CHARGE] for c, record in self._components.items()}

    def _reckon(self):
        """Recompute `empty_at_us` from the charge left and the total current. It errs early
        by a billionth of a full battery's life at that current (plus 2 us), far more than
        float rounding of the sums can move the crossing; between it and the true crossing
        `empty()` just does the exact sum."""
        battery = self.battery
        total = self._total_ma
        us = 1e18
        if total > 0.0:  # us of charge left at this current, less the margin
            us = ((battery.capacity_mah - battery.used_mah) * 3.6e9 - self._margin) / total
        if us < 1e18:
            self.empty_at_us = self._last_us + int(us) - 2
        elif battery.used_mah < battery.capacity_mah:
            self.empty_at_us = self.NEVER_US
        else:
            self.empty_at_us = -self.NEVER_US

    def update(self):
        """Move the battery's charge up to now (the total current times the time since)."""
        now = self._clock()
        elapsed = now - self._last_us
        if elapsed > 0:
            self.battery.used_mah += self._total_ma * elapsed / 3.6e9
            self._last_us = now
        self._reckon()

    def empty(self, now_us=None):
        """Whether the battery is flat now (as `update()` then `battery.empty`, without
        moving anything unless it is). `now_us`: the clock's reading, if the caller has it."""
        now = self._clock() if now_us is None else now_us
        if now < self.empty_at_us:
            return False  # cannot have crossed empty yet (_reckon)
        battery = self.battery
        projected = battery.used_mah + self._total_ma * (now - self._last_us) / 3.6e9
        if projected < battery.capacity_mah:
            self._reckon()  # the bound had gone stale (set() keeps it when current drops)
            return False
        self.update()
        return battery.empty

    def _flush(self, record, now):
        """Count `record`'s present state (time and charge) up to `now`."""
        elapsed = now - record[_SINCE]
        if elapsed > 0:
            key = record[_KEY]
            time_us = self._time_us
            time_us[key] = time_us.get(key, 0) + elapsed
            record[_CHARGE] += record[_MA] * elapsed / 1e6
            record[_SINCE] = now

    def _flush_all(self):
        self.update()
        now = self._clock()
        for record in self._components.values():
            self._flush(record, now)

    def set(self, component, label, ma, now_us=None):
        """`component` draws `ma` from now on, in the state `label`. `now_us`: the clock's
        reading, if the caller has it."""
        record = self._components[component]
        if record[_LABEL] == label and record[_MA] == ma:
            return
        # update() and _flush() inlined with one clock reading: the board's light sleeps
        # and radio mode changes call this hundreds of thousands of times a field day
        now = self._clock() if now_us is None else now_us
        elapsed = now - self._last_us
        if elapsed > 0:
            self.battery.used_mah += self._total_ma * elapsed / 3.6e9
            self._last_us = now
        elapsed = now - record[_SINCE]
        if elapsed > 0:
            key = record[_KEY]
            time_us = self._time_us
            time_us[key] = time_us.get(key, 0) + elapsed
            record[_CHARGE] += record[_MA] * elapsed / 1e6
            record[_SINCE] = now
        ma = float(ma)
        record[_LABEL] = label
        record[_MA] = ma
        record[_KEY] = f"{component} {label}"
        currents = self._currents
        currents[self._index[component]] = ma
        # in COMPONENTS order, as a sum over every component's state; at the cells
        total = sum(currents) * self.supply_factor
        if total > self._total_ma:
            self._total_ma = total
            self._reckon()
        else:  # a smaller current only moves the crossing later: empty_at_us stays a bound
            self._total_ma = total

    def state(self, component):
        """(label, mA) of `component`."""
        record = self._components[component]
        return record[_LABEL], record[_MA]

    def add_charge(self, component, mas):
        self._components[component][_CHARGE] += mas
        self.battery.used_mah += mas * self.supply_factor / 3600.0
        self._reckon()

    def current_ma(self):
        """The battery's current now."""
        return sum(self._currents) * self.supply_factor

    def total_mah(self):
        """Charge taken from the battery so far."""
        self.update()
        return sum(self.charge_mas.values()) * self.supply_factor / 3600.0

    def average_ma(self):
        self.update()
        elapsed_h = (self._clock() - self.start_us) / US_PER_HOUR
        return self.total_mah() / elapsed_h if elapsed_h > 0 else 0.0

    def projected_life_days(self):
        """Days a full battery lasts at the average current measured so far."""
        average = self.average_ma()
        if average <= 0:
            return float("inf")
        return self.battery.capacity_mah / average / 24.0

    def report(self):
        self.update()
        return {
            "elapsed_s": (self._clock() - self.start_us) / 1e6,
            "time_s": {k: v / 1e6 for k, v in sorted(self.time_us.items())},
            "charge_mah": {k: v / 3600.0 for k, v in self.charge_mas.items()},
            "total_mah": self.total_mah(),
            "average_ma": self.average_ma(),
            "battery_mv": round(self.battery.voltage_mv(self.current_ma())),
            "battery_soc_pct": self.battery.soc_pct,
            "projected_life_days": self.projected_life_days(),
        }
