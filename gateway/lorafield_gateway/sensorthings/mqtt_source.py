"""Observations from a network server's MQTT integration (sources 2 and 3 of 3): the uplink
JSON of ChirpStack v4 and of The Things Stack v3, read into the `reading` and `radio` dicts
that `mapping.observations` takes (the one code path of every source).

ChirpStack v4 publishes `integration.UplinkEvent` as protobuf JSON (camelCase names, empty
fields left out, Struct numbers as doubles) on `application/{id}/device/{dev_eui}/event/up`:
`deduplicationId`, `time` (RFC 3339), `deviceInfo{tenantId, applicationId, deviceName,
devEui, ...}`, `devAddr`, `fCnt`, `fPort`, `data` (base64 FRMPayload), `object` (what the
device profile's codec decoded), `rxInfo[{gatewayId, rssi, snr, nsTime, ...}]`, `txInfo`.

The Things Stack publishes `ApplicationUp` on `v3/{app}@{tenant}/devices/{device}/up`:
`end_device_ids{device_id, application_ids{application_id}, dev_eui, dev_addr}`,
`received_at`, `uplink_message{f_port, f_cnt, frm_payload, decoded_payload, rx_metadata[
{gateway_ids{gateway_id, eui}, rssi, channel_rssi, snr, time}], settings, received_at}`
(empty fields left out too: an FCnt of 0 is absent).

The kind of a reading comes from the fPort (lorafield_codec.schema.PORTS): our exported
JavaScript codec returns the data fields only. The values are the decoded object's; when the
frame's own bytes decode (our codec) to the same values, their types are taken from there
(ChirpStack's Struct turns every integer into a double: 3088 arrives as 3088.0).

The reading's time, which Observation keys are made of (so a re-sent message makes the same
keys and is recognised): ChirpStack's `time` (the first gateway's receive time), else the best
reception's `nsTime`, else now; The Things Stack's `uplink_message.received_at` (the Network
Server's receive time), else the top-level `received_at`, else now. RSSI, SNR and gateway
come from the best reception (the highest SNR, then RSSI, as our network server chooses).

What cannot be used raises `UplinkError(reason, detail)`; the reasons are counted names.
"""

import base64
import binascii
import datetime
import json
import re
import time

import lorafield_codec
from lorafield_codec.schema import PORTS, table

# reason -> what it means (the counters' and log lines' vocabulary)
REASONS = {
    "not_json": "not a JSON object",
    "not_uplink": "not an uplink event",
    "no_dev_eui": "no DevEUI",
    "no_object": "no decoded object (no codec on the device profile, or the decoder failed)",
    "bad_object": "the decoded object is not a JSON object",
    "decoder_error": "the decoder reported errors",
    "unknown_fport": "an fPort that carries no lorafield uplink kind",
    "bad_time": "a time that is not RFC 3339",
}

_DECODER_OUTPUT = {"data", "errors", "warnings"}
_UPLINK_FIELDS = {"fPort", "fCnt", "data", "object", "rxInfo"}  # a join event has none
_EUI = re.compile(r"^[0-9a-fA-F]{16}$")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)


class UplinkError(ValueError):
    """An MQTT message that gives no reading: `reason` (a key of REASONS) and a detail."""

    def __init__(self, reason, detail=""):
        self.reason = reason
        self.detail = detail
        text = REASONS.get(reason, reason)
        super().__init__(f"{text}: {detail}" if detail else text)


def uplink_kinds():
    """fPort -> kind, uplink kinds only (config, a downlink, is not a reading)."""
    return {port: kind for kind, port in PORTS if table(kind)["direction"] == "uplink"}


_KINDS = uplink_kinds()


def time_us(text):
    """µs since the epoch of an RFC 3339 time (any number of fraction digits); None if not."""
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            tzinfo=datetime.UTC,
        )  # fmt: skip
    except ValueError:
        return None
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return (int(moment.timestamp()) - offset) * 1_000_000 + micros


def _json(payload):
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UplinkError("not_json", str(exc)[:80]) from None
    if not isinstance(message, dict):
        raise UplinkError("not_json", f"a JSON {type(message).__name__}")
    return message


def _dev_eui(value):
    if not isinstance(value, str) or not _EUI.match(value):
        raise UplinkError("no_dev_eui", repr(value)[:40] if value is not None else "")
    return value.lower()


def _int(value, default=0):
    """proto3 JSON leaves 0 out; 64-bit integers may come as strings."""
    if value is None:
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _data(fport, obj, raw_b64, eui):
    """(kind, data) of a decoded object on `fport`."""
    fport = _int(fport, None)
    kind = _KINDS.get(fport)
    if kind is None:
        raise UplinkError("unknown_fport", f"{eui} fPort {fport}")
    if obj is None:
        raise UplinkError("no_object", f"{eui} fPort {fport}")
    if not isinstance(obj, dict):
        raise UplinkError("bad_object", f"{eui}: a JSON {type(obj).__name__}")
    if obj and set(obj) <= _DECODER_OUTPUT:
        # The whole decoder output ({data, warnings, errors}, TS013) instead of its data.
        errors = obj.get("errors")
        if errors:
            text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else errors
            raise UplinkError("decoder_error", f"{eui}: {str(text)[:120]}")
        obj = obj.get("data")
        if not isinstance(obj, dict):
            raise UplinkError("no_object", f"{eui} fPort {fport}: decoder output without data")
    return kind, _with_codec_types(fport, obj, raw_b64)


def _with_codec_types(fport, obj, raw_b64):
    if not isinstance(raw_b64, str):
        return obj
    try:
        raw = base64.b64decode(raw_b64, validate=True)
        _, decoded = lorafield_codec.decode(fport, raw)
    except (binascii.Error, ValueError, lorafield_codec.CodecError):
        return obj
    return decoded if decoded == obj else obj


def _best(receptions, snr_key, rssi_keys):
    """The reception with the highest SNR, then RSSI (the first on a tie), or None."""
    best, best_rank = None, None
    for rx in receptions if isinstance(receptions, list) else ():
        if not isinstance(rx, dict):
            continue
        rssi = None
        for key in rssi_keys:
            rssi = _number(rx.get(key)) if rssi is None else rssi
        snr = _number(rx.get(snr_key))
        rank = (snr if snr is not None else -1e9, rssi if rssi is not None else -1e9)
        if best_rank is None or rank > best_rank:
            best, best_rank = (rx, rssi, snr), rank
    return best


def chirpstack_uplink(payload, now_us=None):
    """(reading, radio) of a ChirpStack v4 `event/up` JSON message."""
    message = _json(payload)
    info = message.get("deviceInfo")
    if not isinstance(info, dict) or not _UPLINK_FIELDS & set(message):
        raise UplinkError("not_uplink", "no deviceInfo, or no fPort, data, object or rxInfo")
    eui = _dev_eui(info.get("devEui"))
    kind, data = _data(message.get("fPort"), message.get("object"), message.get("data"), eui)
    best = _best(message.get("rxInfo"), "snr", ("rssi",))
    when = message.get("time")
    if when is None and best is not None:
        when = best[0].get("nsTime")
    received = _time(when, now_us, eui)
    radio = None
    if best is not None:
        radio = _radio(best, best[0].get("gatewayId"))
    return _reading(eui, received, kind, data, message.get("fCnt")), radio


def ttn_uplink(payload, now_us=None):
    """(reading, radio) of a The Things Stack v3 `up` JSON message."""
    message = _json(payload)
    ids, up = message.get("end_device_ids"), message.get("uplink_message")
    if not isinstance(ids, dict) or not isinstance(up, dict):
        raise UplinkError("not_uplink", "no end_device_ids and uplink_message")
    eui = _dev_eui(ids.get("dev_eui"))
    kind, data = _data(up.get("f_port"), up.get("decoded_payload"), up.get("frm_payload"), eui)
    when = up.get("received_at") or message.get("received_at")
    received = _time(when, now_us, eui)
    best = _best(up.get("rx_metadata"), "snr", ("rssi", "channel_rssi"))
    radio = None
    if best is not None:
        gw = best[0].get("gateway_ids") if isinstance(best[0].get("gateway_ids"), dict) else {}
        radio = _radio(best, gw.get("eui") or gw.get("gateway_id"))
    return _reading(eui, received, kind, data, up.get("f_cnt")), radio


def _radio(best, gateway):
    _rx, rssi, snr = best
    return {
        "rssi_dbm": rssi,
        "snr_db": snr,
        "gateway_id": gateway.lower() if isinstance(gateway, str) else None,
    }


def _reading(eui, received, kind, data, fcnt):
    return {"dev_eui": eui, "time_us": received, "kind": kind, "data": data, "fcnt": _int(fcnt)}


def _time(text, now_us, eui):
    if text is None:
        return now_us if now_us is not None else time.time_ns() // 1000
    value = time_us(text)
    if value is None:
        raise UplinkError("bad_time", f"{eui}: {str(text)[:40]!r}")
    return value


PARSERS = {"chirpstack": chirpstack_uplink, "ttn": ttn_uplink}
