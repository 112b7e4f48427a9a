"""`lorafield chirpstack status`: what ChirpStack knows about each device of the fleet."""

import datetime

from chirpstack_api.api import device_pb2

from .client import NotFound

COLUMNS = (
    ("dev_eui", "DEV_EUI"),
    ("name", "NAME"),
    ("kind", "KIND"),
    ("last_seen", "LAST_SEEN (UTC)"),
    ("dev_addr", "DEVADDR"),
    ("f_cnt_up", "FCNT_UP"),
    ("n_f_cnt_down", "NFCNT_DN"),
    ("a_f_cnt_down", "AFCNT_DN"),
    ("battery", "BATTERY"),
    ("margin_db", "MARGIN"),
)


def _battery(status):
    if status.external_power_source:
        return "external"
    if status.battery_level < 0:  # ChirpStack: -1 = the device could not measure it
        return None
    return round(status.battery_level, 1)


def device_status(client, device):
    """One row (a dict) for a fleet device; `registered` False when ChirpStack lacks it."""
    eui = device.dev_eui_hex
    row = {"dev_eui": eui, "name": device.name, "kind": device.kind, "registered": True}
    row.update(
        last_seen=None,
        dev_addr=None,
        f_cnt_up=None,
        n_f_cnt_down=None,
        a_f_cnt_down=None,
        battery=None,
        margin_db=None,
    )
    try:
        got = client.call(
            client.devices.Get, device_pb2.GetDeviceRequest(dev_eui=eui), f"device {eui}"
        )
    except NotFound:
        row["registered"] = False
        return row
    if got.HasField("last_seen_at"):
        seen = got.last_seen_at.ToDatetime(tzinfo=datetime.UTC)
        row["last_seen"] = seen.isoformat(timespec="seconds").replace("+00:00", "Z")
    if got.HasField("device_status"):
        row["battery"] = _battery(got.device_status)
        row["margin_db"] = got.device_status.margin
    try:
        activation = client.call(
            client.devices.GetActivation,
            device_pb2.GetDeviceActivationRequest(dev_eui=eui),
            f"activation of device {eui}",
        )
    except NotFound:
        return row
    if activation.HasField("device_activation") and activation.device_activation.dev_addr:
        session = activation.device_activation
        row.update(
            dev_addr=session.dev_addr,
            f_cnt_up=session.f_cnt_up,
            n_f_cnt_down=session.n_f_cnt_down,
            a_f_cnt_down=session.a_f_cnt_down,
        )
    return row


def fleet_status(client, fleet):
    return [device_status(client, device) for device in fleet]


def _cell(row, key):
    value = row[key]
    if key == "last_seen" and value is None:
        return "never" if row["registered"] else "not in ChirpStack"
    if value is None:
        return "-"
    if key == "battery" and value != "external":
        return f"{value:g}%"
    return str(value)


def table(rows):
    """Plain-text table, one line per device."""
    cells = [[title for _, title in COLUMNS]]
    cells += [[_cell(row, key) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )
