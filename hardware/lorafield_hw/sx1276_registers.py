"""SX1276 LoRa-mode register map, bit fields and reset values.

Section numbers refer to the Semtech SX1276/77/78/79 datasheet, revision 7 (May 2020):
6.4 "LoRa Mode Register Map" (Table 41) for addresses and reset values, 4.1 for the modem.
RegInvertIQ2 (0x3B) is not in the register table; its values come from Semtech's reference
driver (LoRaMac-node, sx1276Regs-LoRa.h: RFLR_INVERTIQ2_ON 0x19 / OFF 0x1D) and application
note AN1200.23.
"""

# -- addresses (Table 41) ------------------------------------------------------------------
REG_FIFO = 0x00
REG_OP_MODE = 0x01
REG_FRF_MSB = 0x06
REG_FRF_MID = 0x07
REG_FRF_LSB = 0x08
REG_PA_CONFIG = 0x09
REG_PA_RAMP = 0x0A
REG_OCP = 0x0B
REG_LNA = 0x0C
REG_FIFO_ADDR_PTR = 0x0D
REG_FIFO_TX_BASE_ADDR = 0x0E
REG_FIFO_RX_BASE_ADDR = 0x0F
REG_FIFO_RX_CURRENT_ADDR = 0x10
REG_IRQ_FLAGS_MASK = 0x11
REG_IRQ_FLAGS = 0x12
REG_RX_NB_BYTES = 0x13
REG_RX_HEADER_CNT_MSB = 0x14
REG_RX_HEADER_CNT_LSB = 0x15
REG_RX_PACKET_CNT_MSB = 0x16
REG_RX_PACKET_CNT_LSB = 0x17
REG_MODEM_STAT = 0x18
REG_PKT_SNR_VALUE = 0x19
REG_PKT_RSSI_VALUE = 0x1A
REG_RSSI_VALUE = 0x1B
REG_HOP_CHANNEL = 0x1C
REG_MODEM_CONFIG1 = 0x1D
REG_MODEM_CONFIG2 = 0x1E
REG_SYMB_TIMEOUT_LSB = 0x1F
REG_PREAMBLE_MSB = 0x20
REG_PREAMBLE_LSB = 0x21
REG_PAYLOAD_LENGTH = 0x22
REG_MAX_PAYLOAD_LENGTH = 0x23
REG_HOP_PERIOD = 0x24
REG_FIFO_RX_BYTE_ADDR = 0x25
REG_MODEM_CONFIG3 = 0x26
REG_DETECTION_OPTIMIZE = 0x31
REG_INVERT_IQ = 0x33
REG_DETECTION_THRESHOLD = 0x37
REG_SYNC_WORD = 0x39
REG_INVERT_IQ2 = 0x3B
REG_DIO_MAPPING1 = 0x40
REG_DIO_MAPPING2 = 0x41
REG_VERSION = 0x42
REG_TCXO = 0x4B
REG_PA_DAC = 0x4D

# -- RegOpMode (6.4, 4.1.3) ---------------------------------------------------------------
LONG_RANGE_MODE = 0x80  # LoRa; writable only in sleep mode
LOW_FREQUENCY_MODE_ON = 0x08
MODE_MASK = 0x07
MODE_SLEEP = 0
MODE_STDBY = 1
MODE_FSTX = 2
MODE_TX = 3
MODE_FSRX = 4
MODE_RX_CONTINUOUS = 5
MODE_RX_SINGLE = 6
MODE_CAD = 7

# -- RegIrqFlags / RegIrqFlagsMask (6.4) ---------------------------------------------------
IRQ_RX_TIMEOUT = 0x80
IRQ_RX_DONE = 0x40
IRQ_PAYLOAD_CRC_ERROR = 0x20
IRQ_VALID_HEADER = 0x10
IRQ_TX_DONE = 0x08
IRQ_CAD_DONE = 0x04
IRQ_FHSS_CHANGE_CHANNEL = 0x02
IRQ_CAD_DETECTED = 0x01

# -- RegDioMapping1 (Table 18): DIO0 bits 7-6, DIO1 bits 5-4 -------------------------------
DIO0_SOURCES = (IRQ_RX_DONE, IRQ_TX_DONE, IRQ_CAD_DONE, 0)
DIO1_SOURCES = (IRQ_RX_TIMEOUT, IRQ_FHSS_CHANGE_CHANNEL, IRQ_CAD_DETECTED, 0)

# -- RegModemConfig1/2/3 (6.4) --------------------------------------------------------------
# ModemConfig1: Bw bits 7-4 (codes 0..9, see airtime.BANDWIDTHS_HZ), CodingRate bits 3-1
# (1..4 = 4/5..4/8), ImplicitHeaderModeOn bit 0.
# ModemConfig2: SpreadingFactor bits 7-4, TxContinuousMode bit 3, RxPayloadCrcOn bit 2,
# SymbTimeout(9:8) bits 1-0. ModemConfig3: LowDataRateOptimize bit 3, AgcAutoOn bit 2.
RX_PAYLOAD_CRC_ON = 0x04
LOW_DATA_RATE_OPTIMIZE = 0x08
# RegModemStat bits 4-0 (6.4); bits 7-5 hold the coding rate of the last header.
MODEM_CLEAR = 0x10
HEADER_INFO_VALID = 0x08
RX_ONGOING = 0x04
SIGNAL_SYNCHRONIZED = 0x02
SIGNAL_DETECTED = 0x01
# RegHopChannel bit 6: CRC presence read from the received header.
CRC_ON_PAYLOAD = 0x40

# -- RegInvertIQ (0x33) and RegInvertIQ2 (0x3B) ---------------------------------------------
INVERT_IQ_RX = 0x40  # bit 6 set: receive with I and Q inverted
INVERT_IQ_TX_OFF = 0x01  # bit 0 *set* means normal TX; cleared means TX inverted
INVERT_IQ2_ON = 0x19
INVERT_IQ2_OFF = 0x1D

VERSION = 0x12
FXOSC_HZ = 32_000_000
FSTEP_DIVISOR = 1 << 19  # F_RF = FXOSC * Frf / 2^19 (4.1.4)
FIFO_SIZE = 256

# RSSI offsets (5.5.5): RSSI(dBm) = offset + register; HF port (band 1) vs LF port.
RSSI_OFFSET_HF = -157
RSSI_OFFSET_LF = -164
LF_HF_BOUNDARY_HZ = 525_000_000

# Reset values of the LoRa page (Table 41, "default" column). Registers not listed reset to
# 0x00 here; they read back what was written.
RESET_VALUES = {
    REG_OP_MODE: 0x09,  # FSK/OOK, LowFrequencyModeOn, standby
    REG_FRF_MSB: 0x6C,  # 434 MHz
    REG_FRF_MID: 0x80,
    REG_FRF_LSB: 0x00,
    REG_PA_CONFIG: 0x4F,
    REG_PA_RAMP: 0x09,
    REG_OCP: 0x2B,
    REG_LNA: 0x20,
    REG_FIFO_TX_BASE_ADDR: 0x80,
    REG_MODEM_CONFIG1: 0x72,  # 125 kHz, 4/5, explicit header
    REG_MODEM_CONFIG2: 0x70,  # SF7, CRC off
    REG_SYMB_TIMEOUT_LSB: 0x64,
    REG_PREAMBLE_LSB: 0x08,
    REG_PAYLOAD_LENGTH: 0x01,
    REG_MAX_PAYLOAD_LENGTH: 0xFF,
    REG_DETECTION_OPTIMIZE: 0xC3,
    REG_INVERT_IQ: 0x27,
    REG_DETECTION_THRESHOLD: 0x0A,
    REG_SYNC_WORD: 0x12,
    REG_INVERT_IQ2: INVERT_IQ2_OFF,
    REG_VERSION: VERSION,
    REG_TCXO: 0x09,
    REG_PA_DAC: 0x84,
}

# Registers the chip computes; SPI writes to them are ignored.
READ_ONLY = frozenset(
    {
        REG_FIFO_RX_CURRENT_ADDR,
        REG_RX_NB_BYTES,
        REG_RX_HEADER_CNT_MSB,
        REG_RX_HEADER_CNT_LSB,
        REG_RX_PACKET_CNT_MSB,
        REG_RX_PACKET_CNT_LSB,
        REG_MODEM_STAT,
        REG_PKT_SNR_VALUE,
        REG_PKT_RSSI_VALUE,
        REG_RSSI_VALUE,
        REG_HOP_CHANNEL,
        REG_FIFO_RX_BYTE_ADDR,
        REG_VERSION,
    }
)
