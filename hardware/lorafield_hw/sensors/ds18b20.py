"""DS18B20 temperature sensor on one-wire, modelled at the bit level (Maxim DS18B20
datasheet, rev 6).

ROM: family 0x28, 48-bit serial, CRC-8 (Dallas/Maxim). ROM commands: SEARCH 0xF0,
READ 0x33, MATCH 0x55, SKIP 0xCC, ALARM SEARCH 0xEC. Function commands: CONVERT T 0x44
(read slots return 0 until done: max 93.75 / 187.5 / 375 / 750 ms at 9 / 10 / 11 / 12 bits),
READ SCRATCHPAD 0xBE (9 bytes, byte 8 the CRC), WRITE SCRATCHPAD 0x4E (TH, TL, config),
COPY SCRATCHPAD 0x48, RECALL E2 0xB8, READ POWER SUPPLY 0xB4. The temperature register
powers up as +85 degC (0x0550): firmware that reads before a conversion has finished gets
that value. Temperatures are 1/16 degC two's complement; undefined low bits read 0.
`glitch_rate` flips a bit of a scratchpad read now and then (a noisy long cable), which
the reader's CRC check must catch.
"""

from collections import deque

from lorafield_hw.buses import crc8
from lorafield_hw.sensors.base import Sensor

FAMILY = 0x28
CONVERSION_US = {0: 93_750, 1: 187_500, 2: 375_000, 3: 750_000}
ACTIVE_MA = 1.0  # I_DQA, active current during conversion (typ)
STANDBY_MA = 0.00075  # I_DDS standby (typ)
_BITS = tuple(tuple((byte >> i) & 1 for i in range(8)) for byte in range(256))  # LSB first


class DS18B20(Sensor):
    idle_ma = STANDBY_MA

    def __init__(self, climate=None, serial=None, glitch_rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.climate = climate
        self.glitch_rate = glitch_rate
        serial = serial if serial is not None else self.random.getrandbits(48)
        body = bytes([FAMILY]) + serial.to_bytes(6, "little")
        self.rom = body + bytes([crc8(body)])
        self._offset = self.random.uniform(-0.3, 0.3)  # within +-0.5 degC accuracy
        self.eeprom = bytearray([0x4B, 0x46, 0x7F])  # TH, TL, config (12-bit) as shipped
        self.power_on_reset()

    def power_on_reset(self):
        self.scratchpad = bytearray([0x50, 0x05]) + self.eeprom + b"\xff\x0c\x10\x00"
        self._set_crc()
        self._convert_done_us = None
        self._convert_t_s = None
        self._reset_bus_state()

    def _set_crc(self):
        self.scratchpad[8] = crc8(self.scratchpad[:8])

    def _reset_bus_state(self):
        self._state = "rom"  # waiting for a ROM command byte
        self._in_byte = 0  # bits of the byte being written, LSB first
        self._in_count = 0
        self._out = deque()  # bits to send on read slots
        self._selected = False
        self._search_bit = 0
        self._search_phase = 0
        self._match = bytearray()

    # -- temperature --------------------------------------------------------------------------
    def resolution_bits(self):
        return 9 + ((self.scratchpad[4] >> 5) & 3)

    def _complete_conversion(self):
        if self._convert_done_us is None or self.now_us < self._convert_done_us:
            return
        t_s = self._convert_done_us / 1e6
        temp = self.climate.temperature_c(t_s) if self.climate else 25.0
        temp = max(-55.0, min(125.0, temp + self._offset + self.random.gauss(0.0, 0.02)))
        raw = round(temp * 16)
        raw &= ~((1 << (12 - self.resolution_bits())) - 1)  # undefined low bits read 0
        self.scratchpad[0:2] = (raw & 0xFFFF).to_bytes(2, "little")
        self._set_crc()
        self._convert_done_us = None

    def converting(self):
        return self._convert_done_us is not None and self.now_us < self._convert_done_us

    # -- one-wire bit protocol ----------------------------------------------------------------
    def ow_reset(self):
        if not self.present():
            return False
        self._complete_conversion()
        self._reset_bus_state()
        return True

    def ow_slots_timeless(self):
        """What the bus may batch (buses.OneWire._timeless): read slots report conversion
        progress only while converting; written bits act only when their byte completes."""
        return self._state != "converting"

    def ow_read_bit(self):
        if not self.present():
            return 1
        if self._state == "search":
            bit = (self.rom[self._search_bit // 8] >> (self._search_bit % 8)) & 1
            if self._search_phase == 0:
                self._search_phase = 1
                return bit
            if self._search_phase == 1:
                self._search_phase = 2
                return bit ^ 1
            return 1
        if self._state == "converting":
            self._complete_conversion()
            return 0 if self.converting() else 1
        if self._out:
            return self._out.popleft()
        return 1  # nothing to say: the line stays high

    def ow_write_bit(self, bit):
        if not self.present():
            return
        if self._state == "search":
            own = (self.rom[self._search_bit // 8] >> (self._search_bit % 8)) & 1
            if self._search_phase != 2 or bit != own:
                self._state = "idle"  # lost the search: wait for the next reset
                return
            self._search_bit += 1
            self._search_phase = 0
            if self._search_bit == 64:
                self._state = "function"
                self._selected = True
            return
        if self._state == "idle":
            return
        self._in_byte |= bit << self._in_count
        self._in_count += 1
        if self._in_count < 8:
            return
        byte = self._in_byte
        self._in_byte = self._in_count = 0
        self._byte(byte)

    def _send(self, data):
        out = self._out
        for byte in data:
            out.extend(_BITS[byte])

    def _byte(self, byte):
        state = self._state
        if state == "rom":
            if byte == 0xCC:  # SKIP ROM
                self._state = "function"
            elif byte == 0x55:  # MATCH ROM
                self._state = "match"
                self._match = bytearray()
            elif byte == 0x33:  # READ ROM
                self._send(self.rom)
                self._state = "function"
            elif byte == 0xF0:  # SEARCH ROM
                self._state = "search"
                self._search_bit = 0
                self._search_phase = 0
            elif byte == 0xEC:  # ALARM SEARCH: in alarm if T > TH or T <= TL
                self._state = "search" if self._alarm() else "idle"
            else:
                self._state = "idle"
        elif state == "match":
            self._match.append(byte)
            if len(self._match) == 8:
                self._state = "function" if bytes(self._match) == self.rom else "idle"
        elif state == "function":
            self._function(byte)
        elif state == "write_scratchpad":
            self._write_buf.append(byte)
            if len(self._write_buf) == 3:
                self.scratchpad[2:5] = self._write_buf
                self.scratchpad[4] = (self.scratchpad[4] & 0x60) | 0x1F
                self._set_crc()
                self._state = "idle"

    def _alarm(self):
        self._complete_conversion()
        raw = int.from_bytes(self.scratchpad[0:2], "little", signed=True) >> 4
        th = int.from_bytes(self.scratchpad[2:3], "little", signed=True)
        tl = int.from_bytes(self.scratchpad[3:4], "little", signed=True)
        return raw > th or raw <= tl

    def _function(self, byte):
        if byte == 0x44:  # CONVERT T
            duration = CONVERSION_US[(self.scratchpad[4] >> 5) & 3]
            self._convert_done_us = self.now_us + duration
            self._state = "converting"
            self.draw(ACTIVE_MA - STANDBY_MA, duration / 1e6)
        elif byte == 0xBE:  # READ SCRATCHPAD
            self._complete_conversion()
            data = bytearray(self.scratchpad)
            if self.glitch_rate and self.random.random() < self.glitch_rate:
                data[self.random.randrange(9)] ^= 1 << self.random.randrange(8)
            self._send(data)
            self._state = "reading"
        elif byte == 0x4E:  # WRITE SCRATCHPAD
            self._write_buf = bytearray()
            self._state = "write_scratchpad"
        elif byte == 0x48:  # COPY SCRATCHPAD to EEPROM
            self.eeprom[:] = self.scratchpad[2:5]
            self._state = "idle"
        elif byte == 0xB8:  # RECALL E2
            self.scratchpad[2:5] = self.eeprom
            self._set_crc()
            self._send(b"\xff")
            self._state = "reading"
        elif byte == 0xB4:  # READ POWER SUPPLY: externally powered answers 1
            self._send(b"\xff")
            self._state = "reading"
        else:
            self._state = "idle"
