"""Board profiles as data: pin maps, supply currents, flash geometry, battery.

The pin maps live in the firmware (`lorafield_node.pinmaps`, sources beside each board):
the real `machine`-based boards (firmware/boards) and the emulated board read the same
table. Heap budgets (HEAP): MicroPython's Python heap on each MCU and the native (64-bit unix port)
heap that stands for it. Currents are typical figures from the datasheets named; where a figure is a
board-level estimate (the regulator, USB-UART bridge and LEDs of a dev board draw more than
the MCU in deep sleep) it says so. They feed `lorafield_hw.energy`. The sensor UART,
one-wire and trigger/echo pins are lorafield's suggested wiring on pins each board leaves
free.
"""

from lorafield_node.pinmaps import PINS

# SX1276 supply currents (Semtech SX1276 datasheet rev 7, 2.5.1 Table 6), mA, typical.
SX1276_CURRENT_MA = {
    "sleep": 0.0002,  # IDDSL 0.2 uA
    "idle": 0.0015,  # IDDIDLE, RC oscillator on
    "standby": 1.6,  # IDDST, crystal on
    "fs": 5.8,  # IDDFS, synthesizer (FSTX/FSRX, and CAD's ramp)
    "rx_band1": 10.8,  # IDDR_L, LnaBoost off, band 1 (862-1020 MHz)
    "rx_band1_boost": 11.5,  # LnaBoost on, band 1
    "rx_band23": 12.0,  # bands 2 and 3 (410-525, 137-175 MHz)
}
# IDDT, TX supply current against output power: (dBm, mA) per PA output.
SX1276_TX_MA = {
    "pa_boost": ((17.0, 87.0), (20.0, 120.0)),
    "rfo": ((7.0, 20.0), (13.0, 29.0)),
}


# 2 x AA alkaline: 2,600 mAh rated at light loads to 0.9 V a cell (Energizer E91 datasheet:
# ~2,500-3,000 mAh below 100 mA). The figure every battery-life projection here uses; the
# cells' self-discharge and a brown-out before 0.9 V a cell are not modelled.
AA_ALKALINE_MAH = 2600.0
TWO_AA = ("alkaline", AA_ALKALINE_MAH, 2)

# A boost converter from 2 x AA to 3.3 V (e.g. TI TPS61099: 1 uA quiescent): the battery
# supplies the load's power over the converter's efficiency at the cells' voltage. Averaged
# over an alkaline discharge (1.25 V a cell, 2.5 V) at ~85 % (TPS61099 datasheet, efficiency
# against load at 10 uA-100 mA and 2.4 V in): 3.3 / (2.5 x 0.85) = 1.55 mA from the cells
# per mA at the 3.3 V rail.
BOOST_3V3_FACTOR = 3.3 / (2.5 * 0.85)
BOOST_QUIESCENT_MA = 0.001


# -- Python heap per MCU ---------------------------------------------------------------------
# The GC pool a program has on the device (gc.mem_alloc() + gc.mem_free(); mem_info()'s
# "GC: total"), for MicroPython 1.2x built for the board as published, 32-bit (16-byte GC
# blocks). Sources and how each figure follows from them: firmware/boards/README.md, "Heap".
#
# ESP32 without PSRAM (ESP32_GENERIC, e.g. ESP32-WROOM-32): ports/esp32/mpconfigport.h,
# MICROPY_GC_INITIAL_HEAP_SIZE 56 KiB for CONFIG_IDF_TARGET_ESP32, with
# MICROPY_GC_SPLIT_HEAP_AUTO: the heap starts at 56,000 bytes and grows once by as much
# again, to 111,936 bytes (micropython/micropython PR #13219, commit f6d6308: "after the
# heap is grown one time the size is 111936 bytes, with about 40k left for the IDF"; the
# same from py/gc.c's gc_try_add_heap). Unchanged through v1.28.0. A further growth takes the
# ESP-IDF's last ~40 KB (WiFi, BLE and mbedTLS need them): not counted on.
# RP2040 (RPI_PICO): ports/rp2/memmap_mp_rp2040.ld gives the GC heap all RAM from the end of
# .bss to 0x20040000 (__GcHeapStart/__GcHeapEnd; no C heap). v1.28.0 built for RPI_PICO:
# .bss ends at 0x200028d8, a 245,888-byte pool; from v1.29 (commit f452dab) gc.c, vm.c and
# parse.c run from RAM, .bss ends at 0x200058f8: 233,856 bytes, the figure used (the smaller).
DEVICE_HEAP = {"esp32": 111_936, "rp2040": 233_856}
DEVICE_HEAP_SOURCE = {
    "esp32": "MicroPython ports/esp32/mpconfigport.h MICROPY_GC_INITIAL_HEAP_SIZE 56 KiB, grown "
    "once (SPLIT_HEAP_AUTO): 111,936 B, micropython PR #13219",
    "rp2040": "MicroPython ports/rp2/memmap_mp_rp2040.ld __GcHeapStart..__GcHeapEnd, RPI_PICO "
    "built: 233,856 B from v1.29 (245,888 B in v1.28.0)",
}

# gc.mem_alloc() on the 64-bit unix port over that on the 32-bit WebAssembly VM for what a
# booted, joined node holds (its modules as .mpy, the MAC after a join and an uplink):
# 1.439 measured (.venv/bin/python -m lorafield_tools.mpcheck.heap), rounded down: the
# native heap never stands for
# more than the device has. Not one factor for every object (README "Heap"): containers and
# instances take 2.0x, byte buffers 1.3-1.5x, ints beyond 31 bits 0.3x (immediate on 64-bit).
HEAP_SCALE_64BIT = 1.43


def native_pool(heapsize):
    """The GC pool the unix port (64-bit: 32-byte blocks, allocation and finaliser tables of
    1/4 + 1/8 byte per block) makes of `-X heapsize` bytes (py/gc.c gc_setup_area)."""
    atb = (heapsize - 1) * 8 // (8 + 4 + 4 * 32 * 8)
    return atb * 4 * 32


def native_heapsize(pool):
    """The smallest -X heapsize, in whole KiB, whose native pool holds `pool` bytes."""
    kib = -(-pool // 1024)
    while native_pool(kib * 1024) < pool:
        kib += 1
    return kib * 1024


class HeapBudget:
    """Device heap (bytes), the scale factor, and the native `-X heapsize` standing for it."""

    def __init__(self, mcu, device_heap, factor=HEAP_SCALE_64BIT):
        self.mcu = mcu
        self.device_heap = device_heap
        self.source = DEVICE_HEAP_SOURCE[mcu]
        self.factor = factor
        self.native_target = int(device_heap * factor)  # the native pool to have
        self.native_heapsize = native_heapsize(self.native_target)  # -X heapsize=

    def __repr__(self):
        kib = self.native_heapsize // 1024
        return f"HeapBudget({self.mcu!r}, {self.device_heap} B -> -X heapsize={kib}K)"


class BoardProfile:
    """One real board: what the emulated board and the energy model need to know."""

    def __init__(self, key, name, mcu, currents, pins, battery, **extra):
        self.key = key
        self.name = name
        self.mcu = mcu  # "esp32" or "rp2040"
        self.currents = currents  # mA: active, lightsleep, deepsleep, board_floor
        self.pins = pins
        self.battery = battery  # (chemistry, capacity mAh, cells)
        # mA drawn from the battery per mA at the board's rail (1: a linear regulator or
        # none; a boost converter draws more than its load)
        self.supply_factor = extra.pop("supply_factor", 1.0)
        self.unique_id_bytes = 6 if mcu == "esp32" else 8
        # Flash partition for the store: esp32.Partition programs any byte range;
        # rp2.Flash programs whole 256-byte pages (pico-sdk flash_range_program).
        self.flash_block_size = 4096
        self.flash_blocks = extra.pop("flash_blocks", 4)
        self.flash_prog_size = 1 if mcu == "esp32" else 256
        # Reset to main.py under MicroPython: ROM/second-stage boot, interpreter and
        # filesystem start (an estimate; the MCU draws active current meanwhile).
        self.boot_ms = extra.pop("boot_ms", 450 if mcu == "esp32" else 250)
        self.switched_sensor_rail = "vext" in pins
        self.extra = extra

    def __repr__(self):
        return f"BoardProfile({self.key!r})"


# ESP32 (Espressif ESP32 datasheet v4.x, Table "Power consumption by power modes"): active
# with radios off at 160 MHz ~ 27-44 mA; light sleep 0.8 mA; deep sleep, RTC timer + RTC
# memory, 10 uA.
_ESP32_ACTIVE_MA = 40.0
_ESP32_LIGHT_MA = 0.8
_ESP32_DEEP_MA = 0.010

# RP2040 on a Raspberry Pi Pico (Raspberry Pi Pico datasheet, "Power consumption",
# typical): running ~ 20-25 mA; SLEEP 1.3 mA; DORMANT 0.8 mA. MicroPython's rp2
# machine.deepsleep() is a light sleep followed by a reset: the dormant figure is the floor.
_RP2040_ACTIVE_MA = 24.0
_RP2040_LIGHT_MA = 1.3
_RP2040_DEEP_MA = 0.8

PROFILES = {
    "esp32_bare": BoardProfile(
        "esp32_bare",
        "lorafield field node: ESP32-WROOM-32 + RFM95W, 2 x AA boosted to 3.3 V",
        "esp32",
        # floor: the boost converter's quiescent current and the 1M/1M battery divider;
        # no USB bridge, LDO, charger or LED
        {
            "active": _ESP32_ACTIVE_MA,
            "lightsleep": _ESP32_LIGHT_MA,
            "deepsleep": _ESP32_DEEP_MA,
            "board_floor": BOOST_QUIESCENT_MA + 0.0015,
        },
        PINS["esp32_bare"],  # lorafield_node.pinmaps (lorafield's reference wiring)
        TWO_AA,
        supply_factor=BOOST_3V3_FACTOR,
    ),
    "heltec_lora32_v2": BoardProfile(
        "heltec_lora32_v2",
        "Heltec WiFi LoRa 32 (V2)",
        "esp32",
        # board floor: CP2102 + LDO + charger, a board-level estimate (community measurements)
        {
            "active": _ESP32_ACTIVE_MA,
            "lightsleep": _ESP32_LIGHT_MA,
            "deepsleep": _ESP32_DEEP_MA,
            "board_floor": 0.9,
        },
        PINS["heltec_lora32_v2"],  # lorafield_node.pinmaps (sources there)
        ("lipo", 1000, 1),
    ),
    "ttgo_lora32_v21": BoardProfile(
        "ttgo_lora32_v21",
        "LilyGO TTGO LoRa32 V2.1 (T3 V1.6.1)",
        "esp32",
        {
            "active": _ESP32_ACTIVE_MA,
            "lightsleep": _ESP32_LIGHT_MA,
            "deepsleep": _ESP32_DEEP_MA,
            "board_floor": 0.35,
        },
        PINS["ttgo_lora32_v21"],  # lorafield_node.pinmaps (sources there)
        ("lipo", 1000, 1),
    ),
    "tbeam_v11": BoardProfile(
        "tbeam_v11",
        "LilyGO T-Beam V1.1",
        "esp32",
        # AXP192 PMU and the (switched-off) GPS backup domain: a board-level estimate
        {
            "active": _ESP32_ACTIVE_MA,
            "lightsleep": _ESP32_LIGHT_MA,
            "deepsleep": _ESP32_DEEP_MA,
            "board_floor": 0.6,
        },
        PINS["tbeam_v11"],  # lorafield_node.pinmaps (sources there)
        ("lipo", 3000, 1),  # 18650 cell holder
    ),
    "pico_rfm95w": BoardProfile(
        "pico_rfm95w",
        "Raspberry Pi Pico + RFM95W breakout",
        "rp2040",
        {
            "active": _RP2040_ACTIVE_MA,
            "lightsleep": _RP2040_LIGHT_MA,
            "deepsleep": _RP2040_DEEP_MA,
            "board_floor": 0.05,  # RT6150 buck-boost quiescent, a board-level estimate
        },
        PINS["pico_rfm95w"],  # lorafield_node.pinmaps (sources there)
        TWO_AA,  # into VSYS (1.8-5.5 V; the RT6150 buck-boost makes 3.3 V)
    ),
    "feather_rp2040_rfm95": BoardProfile(
        "feather_rp2040_rfm95",
        "Adafruit Feather RP2040 RFM95 (product 5714)",
        "rp2040",
        {
            "active": _RP2040_ACTIVE_MA,
            "lightsleep": _RP2040_LIGHT_MA,
            "deepsleep": _RP2040_DEEP_MA,
            "board_floor": 0.1,  # AP2112K LDO + charger, a board-level estimate
        },
        PINS["feather_rp2040_rfm95"],  # lorafield_node.pinmaps (sources there)
        ("lipo", 1200, 1),
    ),
}


# Per board profile key: the board's MCU decides (no board here adds PSRAM or reserves heap).
HEAP = {key: HeapBudget(p.mcu, DEVICE_HEAP[p.mcu]) for key, p in PROFILES.items()}


def get(key):
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown board profile {key!r} (known: {known})") from None
