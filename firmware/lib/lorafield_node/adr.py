"""ADR acknowledgement backoff of the end device (LoRaWAN 1.0.4 section 4.3.1.1).

ADR_ACK_CNT counts the uplinks sent since the last downlink. From ADR_ACK_LIMIT on, every
uplink asks the network for a downlink (ADRACKReq). After ADR_ACK_DELAY more uplinks without
one, the device steps towards the most robust settings, one step every ADR_ACK_DELAY uplinks:
first back to the default (maximum) TX power, then one data rate lower per step, and at the
lowest data rate it re-enables the default channels. A device already at default power and
the lowest data rate does not set ADRACKReq (there is nothing the network could lower).

Pure integer logic so it runs and is tested unchanged on MicroPython.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


ADR_ACK_LIMIT = const(64)
ADR_ACK_DELAY = const(32)

STEP_NONE = const(0)
STEP_POWER = const(1)  # restore the default TX power
STEP_DR = const(2)  # one data rate lower
STEP_CHANNELS = const(3)  # re-enable the default channels


def ack_req(adr_ack_cnt, dr, tx_power, min_dr, default_power):
    """ADRACKReq bit for an uplink sent with ``adr_ack_cnt`` uplinks since the last downlink."""
    if adr_ack_cnt < ADR_ACK_LIMIT:
        return False
    return not (dr <= min_dr and tx_power == default_power)


def backoff_step(adr_ack_cnt, dr, tx_power, min_dr, default_power):
    """The step to take before an uplink sent with ``adr_ack_cnt`` uplinks since the last
    downlink: STEP_NONE, STEP_POWER, STEP_DR or STEP_CHANNELS."""
    over = adr_ack_cnt - ADR_ACK_LIMIT
    if over < ADR_ACK_DELAY or over % ADR_ACK_DELAY:
        return STEP_NONE
    if tx_power != default_power:
        return STEP_POWER
    if dr > min_dr:
        return STEP_DR
    return STEP_CHANNELS
