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
    same as integrating every component at every call; the board calls `update()` / `empty()`
    at every firmware call, so that has to be cheap."""

    COMPONENTS = ("mcu", "board", "radio", "sensors", "ulp")  # ulp: ESP32 ULP runs (charge)

    def __init__(self, clock, battery=None):
        self._clock = clock  # callable -> now in us
        self.battery = battery or Battery()
        self._state = {c: ("off", 0.0) for c in self.COMPONENTS}
        self.start_us = clock()
        self._since = {c: self.start_us for c in self.COMPONENTS}  # state's time counted to
        self._time_us = {}  # "component state" -> us
        self._charge_mas = {c: 0.0 for c in self.COMPONENTS}  # mA * s
        self._total_ma = 0.0
        self._last_us = self.start_us  # the battery's charge is counted to here

    @property
    def time_us(self):
        self._flush_all()
        return self._time_us

    @property
    def charge_mas(self):
        self._flush_all()
        return self._charge_mas

    def update(self):
        """Move the battery's charge up to now (the total current times the time since)."""
        now = self._clock()
        elapsed = now - self._last_us
        if elapsed > 0:
            self.battery.used_mah += self._total_ma * elapsed / 3.6e9
            self._last_us = now

    def empty(self, now_us=None):
        """Whether the battery is flat now (as `update()` then `battery.empty`, without
        moving anything unless it is). `now_us`: the clock's reading, if the caller has it."""
        battery = self.battery
        now = self._clock() if now_us is None else now_us
        projected = battery.used_mah + self._total_ma * (now - self._last_us) / 3.6e9
        if projected < battery.capacity_mah:
            return False
        self.update()
        return battery.empty

    def _flush(self, component, now):
        elapsed = now - self._since[component]
        if elapsed > 0:
            label, ma = self._state[component]
            key = f"{component} {label}"
            self._time_us[key] = self._time_us.get(key, 0) + elapsed
            self._charge_mas[component] += ma * elapsed / 1e6
            self._since[component] = now

    def _flush_all(self):
        self.update()
        now = self._clock()
        for component in self.COMPONENTS:
            self._flush(component, now)

    def set(self, component, label, ma):
        if self._state[component] == (label, ma):
            return
        self.update()
        self._flush(component, self._clock())
        self._state[component] = (label, float(ma))
        self._total_ma = sum(ma for _, ma in self._state.values())

    def state(self, component):
        return self._state[component]

    def add_charge(self, component, mas):
        self._charge_mas[component] += mas
        self.battery.used_mah += mas / 3600.0

    def current_ma(self):
        return sum(ma for _, ma in self._state.values())

    def total_mah(self):
        self.update()
        return sum(self.charge_mas.values()) / 3600.0

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
