"""`lorafield bench energy`: battery life of each app on each board, from emulated time.

Each row runs the real firmware (lorafield_node.apps.start: framework, app, drivers, MAC,
SX127x driver) on an emulated board with its emulated sensor, over the emulated air to an
emulated gateway and the local network server. After a warm-up hour (join, calibration,
first status) the board's energy meter is read over the measured window: the time each
component spent in each state times that state's current (lorafield_hw.profiles and the
sensor models: the datasheet figures printed at the end), plus each measurement's charge.
From that: average current, charge per day, and the life of 2 x AA (2,600 mAh; the cells'
self-discharge is not modelled; the bare ESP32 node's boost converter is, as a fixed
factor, and the dev boards' linear regulators pass the load's current).

The rows are the setups of lorafield_tools.field.setups (a board and the settings that
decide its power), the same names the demo town and scenarios use.

Rows "+tpl5110" gate the board with the emulated TPL5110 (lorafield_hw.tpl5110). Rows
"+ulp" run parking with "sampling": "ulp": the emulated ESP32 ULP-FSM executes the
assembled sampler (lorafield_hw.ulp) while the CPU deep-sleeps; the ULP's run time is charged
at the datasheet's 150 uA plus the I2C pull-ups (component "ulp"). The emulation alone says
these figures: nothing ULP has been measured on a chip.

Defaults are the issue's: parking samples every 5 s, heartbeat hourly, 20 state changes a
day; water level reads every 15 min and sends hourly; temperature reads and sends every
15 min. Uplinks at DR5 (SF7) unless --dr.
"""

import math

from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_hw import profiles, ulp
from lorafield_hw.air import Air
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.emulated_gateway import EmulatedGateway, LnsLink
from lorafield_hw.energy import Battery
from lorafield_hw.scenarios import DiurnalTemperature, ParkingScenario, WaterLevelScenario
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import A02YYUW, DS18B20, QMC5883L
from lorafield_hw.tpl5110 import IDD_MA as TPL5110_MA
from lorafield_node.apps import start

from ..cli import UsageError
from ..field import setups
from .keys import TEST_APP_KEY

HELP = "battery life per app and board (2 x AA) from emulated time-in-state"

APPS = ("parking", "water_level", "temperature")
AA_MAH = profiles.AA_ALKALINE_MAH
HOUR_US = 3_600_000_000

# Emulation test keys (the bench's one device; never a real device's)
DEV_EUI = bytes.fromhex("70b3d57ed0003001")
JOIN_EUI = bytes.fromhex("70b3d57ed00000ff")


def configurations():
    """The setups measured (lorafield_tools.field.setups): every board as shipped, the
    bare ESP32 field node, TPL5110 gating of the Heltec and the Pico, ULP sampling."""
    return list(setups.SETUPS.values())


FIVE_YEARS_UA = AA_MAH / (5 * 365.25 * 24) * 1000  # the average current 2 x AA allow


def _parking_day(hours, changes_per_day):
    """Arrivals and departures evenly over the run (deterministic), each car staying 1 h."""
    cycles = max(1, round(changes_per_day * hours / 24 / 2))
    period = hours * 3600 / cycles
    events = []
    for i in range(cycles):
        arrive = 1800 + i * period
        events += [(arrive, "arrive"), (arrive + min(3600.0, period / 2), "depart")]
    return ParkingScenario(events, seed=7)


def _sensors(kind, clock, hours, warmup_s, changes_per_day):
    if kind == "parking":
        bay = _parking_day(hours, changes_per_day)
        shifted = ParkingScenario([(t + warmup_s, k) for t, k in bay.events], seed=7)
        return [QMC5883L(parking=shifted, clock=clock, seed=3)]
    if kind == "water_level":
        water = WaterLevelScenario(mount_height_mm=3000, base_level_mm=400, seed=4)
        return [A02YYUW(water=water, clock=clock, seed=5)]
    return [DS18B20(climate=DiurnalTemperature(seed=2), clock=clock, seed=6)]


def measure(kind, setup, hours=24.0, dr=5, changes_per_day=20, warmup_h=1.0, settings=None):
    """Run one app on one setup (lorafield_tools.field.setups; extra app `settings`);
    returns a dict of figures."""
    scheduler = Scheduler(1)
    air = Air(scheduler)
    registry = DeviceRegistry()
    registry.add_otaa(DEV_EUI, JOIN_EUI, TEST_APP_KEY, kind=kind, name="bench")
    server = NetworkServer(registry, adr=False)
    gateway = EmulatedGateway(air, "gw0", (50.0, 0.0))
    LnsLink(scheduler, server, [gateway])
    warmup_s = warmup_h * 3600
    sensors = _sensors(kind, lambda: scheduler.now_us, hours, warmup_s, changes_per_day)
    settings = dict(setup.settings, **(settings or {}))
    settings.update(app=kind, dev_eui=DEV_EUI, join_eui=JOIN_EUI, app_key=TEST_APP_KEY, dr=dr)
    board = EmulatedBoard(
        scheduler,
        lambda view: start(view, settings),
        setup.board,
        air=air,
        sensors=sensors,
        battery=Battery(*profiles.TWO_AA),
        options=settings,
    )
    board.power_on()
    try:
        scheduler.run_until(int(warmup_s * 1e6))
        meter = board.energy
        meter.update()
        charge0 = dict(meter.charge_mas)
        times0 = dict(meter.time_us)
        ups0 = len([e for e in server.events if e.kind == "uplink"])
        scheduler.run_until(int((warmup_s + hours * 3600) * 1e6))
        meter.update()
    finally:
        scheduler.shutdown()
    window_h = hours
    charge = {k: (v - charge0[k]) / 3600.0 for k, v in meter.charge_mas.items()}  # mAh
    times = {k: (v - times0.get(k, 0)) / 1e6 for k, v in meter.time_us.items()}
    total = sum(charge.values()) * meter.supply_factor  # from the cells
    average_ma = total / window_h
    per_day = average_ma * 24
    uplinks = len([e for e in server.events if e.kind == "uplink"]) - ups0
    return {
        "average_ua": average_ma * 1000,
        "mah_per_day": per_day,
        "life_years": AA_MAH / per_day / 365.25 if per_day > 0 else math.inf,
        "charge_mah": charge,
        "time_s": times,
        "uplinks_per_day": uplinks * 24 / window_h,
        "browned_out": board.browned_out,
        "ulp_runs_per_day": board.ulp.runs * 24 / (warmup_h + hours) if board.ulp else 0,
        "ulp_ms_per_run": board.ulp.active_us / board.ulp.runs / 1000
        if board.ulp and board.ulp.runs
        else 0.0,
        "boots_per_day": len([t for t, _ in board.boots if t >= warmup_s * 1e6]) * 24 / hours,
    }


def add_arguments(parser):
    parser.add_argument("--hours", type=float, default=24.0, help="measured window (virtual)")
    parser.add_argument("--app", choices=APPS, action="append", help="only these apps")
    parser.add_argument(
        "--board", action="append", help="only these setups (a board, or e.g. esp32_bare+ulp)"
    )
    parser.add_argument("--dr", type=int, default=5, choices=range(6), help="uplink data rate")
    parser.add_argument("--verbose", action="store_true", help="charge per component")


def _figures():
    esp = profiles.get("heltec_lora32_v2").currents
    rp = profiles.get("pico_rfm95w").currents
    sx = profiles.SX1276_CURRENT_MA
    lines = [
        "Datasheet figures used (typical; lorafield_hw.profiles and the sensor models):",
        f"  ESP32 (Espressif ESP32 datasheet): active {esp['active']:g} mA (radios off),"
        f" light sleep {esp['lightsleep']:g} mA, deep sleep {esp['deepsleep'] * 1000:g} uA",
        f"  RP2040 (Raspberry Pi Pico datasheet): running {rp['active']:g} mA,"
        f" sleep {rp['lightsleep']:g} mA, dormant {rp['deepsleep']:g} mA",
        f"  SX1276 (Semtech datasheet, Table 6): sleep {sx['sleep'] * 1000:g} uA, standby"
        f" {sx['standby']:g} mA, RX {sx['rx_band1']:g}-{sx['rx_band1_boost']:g} mA,"
        " TX 87 mA at +17 dBm PA_BOOST (29 mA at +13 dBm RFO)",
        "  Board floors (estimates): "
        + ", ".join(
            f"{k} {p.currents['board_floor'] * 1000:g} uA"
            for k, p in sorted(profiles.PROFILES.items())
        ),
        f"  ESP32 ULP-FSM (+ulp rows): {ulp.ACTIVE_MA * 1000:g} uA while a run lasts (ESP32"
        " datasheet: deep sleep with the ULP co-processor powered on), on top of the 10 uA"
        " deep-sleep floor (datasheet: RTC timer + RTC memory; ASSUMED to hold with the ULP"
        " timer armed: not measured), 8 MHz RTC_FAST_CLK, RTC I2C at 100 kHz, pull-ups"
        f" 2 x 4.7 kOhm ({ulp.PULLUP_MA:g} mA while transferring)",
        "  Sensors: QMC5883L ~0.1 mA continuous / 3 uA standby; A02YYUW <= 8 mA;"
        " DS18B20 1 mA converting (750 ms) / 0.75 uA standby;"
        f" TPL5110 {TPL5110_MA * 1e6:g} nA (TI datasheet)",
        f"  Supply: esp32_bare boosts 2 x AA to 3.3 V: {profiles.BOOST_3V3_FACTOR:.2f} mA from"
        " the cells per mA at the rail (3.3 V / (2.5 V x 85 %), TPS61099-class converter);"
        " the other boards' regulators are linear (1:1)",
        f"  Battery: 2 x AA alkaline, {AA_MAH:g} mAh rated (no self-discharge, no derating)",
    ]
    return lines


def _years(average_ua):
    return AA_MAH / (average_ua / 1000 * 24) / 365.25


def run(args):
    if not 1.0 <= args.hours <= 24 * 14:
        raise UsageError("--hours must be 1..336")
    rows = configurations()
    if args.board:
        unknown = [b for b in args.board if b not in setups.SETUPS]
        if unknown:
            raise UsageError(f"unknown board {unknown[0]!r}")
        rows = [r for r in rows if r.name in args.board]
    apps = args.app or list(APPS)
    print(f"Emulated {args.hours:g} h per row after a 1 h warm-up; uplinks at DR{args.dr}.")
    header = f"{'app':<12} {'board':<26} {'avg uA':>8} {'mAh/day':>8} {'2xAA years':>10}"
    print(header + "  uplinks/day")
    for kind in apps:
        for setup in rows:
            if kind not in setup.kinds:
                if "tpl5110" in setup.settings:  # the ULP rows are the parking app's only
                    why = "n/a: samples every 5 s, cannot power off"
                    print(f"{kind:<12} {setup.name:<26} {why:>40}")
                continue
            r = measure(kind, setup, hours=args.hours, dr=args.dr)
            years = r["life_years"]
            flag = " *" if years >= 5 else ""
            print(
                f"{kind:<12} {setup.name:<26} {r['average_ua']:8.1f} {r['mah_per_day']:8.3f}"
                f" {years:10.2f}{flag:<2} {r['uplinks_per_day']:6.0f}"
            )
            if setup.settings.get("sampling") == "ulp":
                print(
                    f"{'':<12} ULP: {r['ulp_runs_per_day']:.0f} runs/day of"
                    f" {r['ulp_ms_per_run']:.1f} ms; CPU boots/day {r['boots_per_day']:.0f};"
                    f" a deep-sleep floor 15 / 40 uA higher would give"
                    f" {_years(r['average_ua'] + 15):.1f} / {_years(r['average_ua'] + 40):.1f} y"
                )
            if args.verbose:
                parts = ", ".join(f"{k} {v:.3f}" for k, v in r["charge_mah"].items())
                print(f"{'':<12} mAh over the window (at the board's rail): {parts}")
    print(f"* >= 5 years (an average of {FIVE_YEARS_UA:.1f} uA or less)")
    print()
    for line in _figures():
        print(line)
    return 0
