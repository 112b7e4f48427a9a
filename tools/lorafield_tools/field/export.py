"""`--export DIR`: what the network server received, as files another tool can read.

* ``frames.jsonl``: one accepted uplink per line as received (best copy): ``phy_hex``,
  ``dev_eui``, ``dev_addr``, ``fcnt``, ``fport``, ``gateway_id``, ``rssi``, ``snr``,
  ``freq_hz``, ``sf``, ``time`` (ISO 8601 UTC, emulated clock);
* ``readings.jsonl``: the decoded ``data`` of each uplink with ``dev_eui``, ``kind``,
  ``fcnt``, ``time``;
* ``sessions.json``: per device ``dev_eui``, ``dev_addr``, ``nwk_s_key``, ``app_s_key`` --
  emulation test keys, labelled as such (the field's fleet file carries the same label), so
  a capture can be decrypted elsewhere; mode 0600, as the fleet file.
"""

import datetime
import json
import os
import sqlite3

from lorafield_gateway.fleet import write_private

# The label of every file holding an emulated field's keys (sessions.json, fleet.toml).
TEST_KEYS_NOTE = (
    "EMULATION TEST KEYS: keys of emulated devices from a lorafield emulated field. "
    "Never use them for real devices."
)


def iso(time_us):
    moment = datetime.datetime.fromtimestamp(time_us / 1e6, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def export(db_path, directory):
    """Write the three files; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    db = sqlite3.connect(db_path)
    try:
        frames_path = os.path.join(directory, "frames.jsonl")
        with open(frames_path, "w", encoding="utf-8") as out:
            rows = db.execute(
                "SELECT phy_hex, dev_eui, dev_addr, fcnt, fport, gateway_id, rssi_dbm, snr_db,"
                " frequency_hz, sf, time_us FROM frames ORDER BY id"
            )
            for phy, eui, addr, fcnt, fport, gw, rssi, snr, freq, sf, t in rows:
                record = {
                    "phy_hex": phy,
                    "dev_eui": eui,
                    "dev_addr": addr,
                    "fcnt": fcnt,
                    "fport": fport,
                    "gateway_id": gw,
                    "rssi": rssi,
                    "snr": snr,
                    "freq_hz": round(freq),
                    "sf": sf,
                    "time": iso(t),
                }
                out.write(json.dumps(record) + "\n")
        readings_path = os.path.join(directory, "readings.jsonl")
        with open(readings_path, "w", encoding="utf-8") as out:
            rows = db.execute("SELECT dev_eui, kind, fcnt, time_us, data FROM readings ORDER BY id")
            for eui, kind, fcnt, t, data in rows:
                record = {
                    "dev_eui": eui,
                    "kind": kind,
                    "fcnt": fcnt,
                    "time": iso(t),
                    "data": json.loads(data),
                }
                out.write(json.dumps(record) + "\n")
        sessions_path = os.path.join(directory, "sessions.json")
        sessions = [
            {"dev_eui": eui, "dev_addr": addr, "nwk_s_key": nwk, "app_s_key": app}
            for eui, addr, nwk, app in db.execute(
                "SELECT dev_eui, dev_addr_hex, nwk_s_key, app_s_key FROM sessions ORDER BY dev_eui"
            )
        ]
        body = {"note": TEST_KEYS_NOTE, "test_keys": True, "sessions": sessions}
        # Keys, even test keys, are written as the fleet file is: 0600.
        write_private(sessions_path, json.dumps(body, indent=1) + "\n")
    finally:
        db.close()
    return frames_path, readings_path, sessions_path
