"""Board pin maps as data: the one source for the real boards (firmware/boards) and the
emulated ones (hardware/lorafield_hw/profiles.py reads these tables).

Per board: the GPIO numbers of the radio's SPI bus and control lines, the sensor buses and
named pins, the switched sensor rail and the battery divider; MCU names the port. Sources
are named beside each board. The sensor UART, one-wire and trigger/echo pins are
lorafield's suggested wiring on pins each board leaves free (hardware/README.md has the
wiring tables and the pins that must not be used).
"""

MCU = {
    "esp32_bare": "esp32",
    "heltec_lora32_v2": "esp32",
    "ttgo_lora32_v21": "esp32",
    "tbeam_v11": "esp32",
    "pico_rfm95w": "rp2040",
    "feather_rp2040_rfm95": "rp2040",
}

PINS = {
    # lorafield's field node: an ESP32-WROOM-32 module and an RFM95W on one board, no USB
    # bridge, regulator or LED; 2 x AA through a 3.3 V boost converter (the module needs
    # 3.0-3.6 V, ESP32-WROOM-32 datasheet 5.2). The radio on VSPI's default pins; the
    # magnetometer on RTC I2C pins (SCL GPIO4 + SDA GPIO0, ESP32 TRM "RTC I2C") so the ULP
    # can sample it; GPIO0's pull-up keeps the strapping pin at its boot level.
    "esp32_bare": {
        "spi": {"id": 2, "sck": 18, "mosi": 23, "miso": 19},
        "lora": {"cs": 5, "reset": 14, "dio0": 26, "dio1": 33},
        "i2c": {"id": 0, "sda": 0, "scl": 4},
        "uart": {"id": 2, "tx": 17, "rx": 16},
        "onewire": 13,
        "trigger": 25,
        "echo": 34,  # input-only pin
        "vext": {"pin": 21, "active_low": True},  # P-MOSFET high-side switch, gate low = on
        "battery_adc": {"pin": 35, "divider": 2.0},  # 1M/1M: 1.5 uA at 3 V
    },
    # Heltec WiFi LoRa 32 V2 pinout diagram
    "heltec_lora32_v2": {
        "spi": {"id": 1, "sck": 5, "mosi": 27, "miso": 19},
        "lora": {"cs": 18, "reset": 14, "dio0": 26, "dio1": 35, "dio2": 34},
        "i2c": {"id": 0, "sda": 4, "scl": 15},  # shared with the OLED (0x3C, reset 16)
        "uart": {"id": 2, "tx": 17, "rx": 23},
        "onewire": 13,
        "trigger": 22,
        "echo": 38,  # input-only pin
        "vext": {"pin": 21, "active_low": True},  # switched 3V3 for external sensors
        "battery_adc": {"pin": 37, "divider": 3.2},  # 220k/100k
        "led": 25,
    },
    # LilyGO TTGO LoRa32 V2.1_1.6 pin map (LilyGO-LoRa-Series, utilities.h)
    "ttgo_lora32_v21": {
        "spi": {"id": 1, "sck": 5, "mosi": 27, "miso": 19},
        "lora": {"cs": 18, "reset": 23, "dio0": 26, "dio1": 33, "dio2": 32},
        "i2c": {"id": 0, "sda": 21, "scl": 22},
        "uart": {"id": 2, "tx": 4, "rx": 34},
        "onewire": 13,  # the SD slot's CS: leave the slot empty
        "trigger": 12,  # strapping pin, held low by its pull-down at boot as required
        "echo": 36,  # input-only pin
        "battery_adc": {"pin": 35, "divider": 2.0},  # 100k/100k
        "led": 25,
    },
    # LilyGO T-Beam V1.1 schematic / LilyGO-LoRa-Series utilities.h
    "tbeam_v11": {
        "spi": {"id": 1, "sck": 5, "mosi": 27, "miso": 19},
        "lora": {"cs": 18, "reset": 23, "dio0": 26, "dio1": 33, "dio2": 32},
        "i2c": {"id": 0, "sda": 21, "scl": 22},  # AXP192 PMU at 0x34
        "gps_uart": {"id": 1, "tx": 12, "rx": 34},
        "uart": {"id": 2, "tx": 13, "rx": 14},
        "onewire": 25,
        "trigger": 2,
        "echo": 39,  # input-only pin
        "battery_adc": {"pmu": "axp192"},  # battery voltage read from the PMU over I2C
        "led": 4,
    },
    # No vendor wiring exists: this is lorafield's reference wiring on SPI0's default pins;
    # VSYS/3 on GPIO29 (ADC3) is the Pico's own (Pico datasheet, 4.4). The sensors' supply
    # goes through a P-MOSFET high-side switch on GP13 (gate pulled up: off while the Pico
    # is not driving it), so an ultrasonic sensor draws nothing between readings.
    "pico_rfm95w": {
        "spi": {"id": 0, "sck": 18, "mosi": 19, "miso": 16},
        "lora": {"cs": 17, "reset": 20, "dio0": 21, "dio1": 22},
        "i2c": {"id": 0, "sda": 4, "scl": 5},
        "uart": {"id": 1, "tx": 8, "rx": 9},
        "onewire": 15,
        "trigger": 6,
        "echo": 7,
        "vext": {"pin": 13, "active_low": True},
        "battery_adc": {"pin": 29, "divider": 3.0},
        "led": 25,
    },
    # Adafruit Feather RP2040 RFM95 pinouts (also Zephyr's feather_rfm95_rp2040 board)
    "feather_rp2040_rfm95": {
        "spi": {"id": 1, "sck": 14, "mosi": 15, "miso": 8},
        "lora": {"cs": 16, "reset": 17, "dio0": 21, "dio1": 22, "dio2": 23},
        "i2c": {"id": 1, "sda": 2, "scl": 3},  # STEMMA QT
        "uart": {"id": 0, "tx": 0, "rx": 1},
        "onewire": 5,
        "trigger": 9,  # D9
        "echo": 10,  # D10
        "battery_adc": {"pin": 29, "divider": 2.0},  # A3, an assumed wiring
        "led": 13,
    },
}
