"""`lorafield gateway run` with the local server: devices from `local.fleet`, state in SQLite
(`local.db`); a bad fleet file is one line naming the key."""

import json
import sqlite3
import subprocess
import sys
import time

import lorafield_codec
from lorafield_gateway.config import from_dict
from lorafield_gateway.fleet import FleetDevice, append_devices
from lorafield_gateway.service import GatewayService
from lorafield_node.phy import UNCONFIRMED_UP, SessionCrypto, build_data

NWK = bytes(range(16))
APP = bytes(range(16, 32))
ADDR = 0x26011234
EUI = "70b3d57ed0000042"


def config(tmp_path, **local):
    return {
        "gateway": {"state_dir": str(tmp_path / "state")},
        "radio": {"kind": "replay", "replay_path": str(tmp_path / "frames.jsonl")},
        "local": {"enabled": True, "fleet": str(tmp_path / "fleet.toml"), **local},
    }


def test_replayed_uplinks_end_in_the_servers_database(tmp_path):
    device = FleetDevice(
        bytes.fromhex(EUI), "temperature", "t1", dev_addr=ADDR, nwk_s_key=NWK, app_s_key=APP
    )
    append_devices(tmp_path / "fleet.toml", [device])
    crypto = SessionCrypto(NWK, APP)
    port = lorafield_codec.fport_of("temperature")
    with open(tmp_path / "frames.jsonl", "w") as out:
        for fcnt in range(3):
            payload = lorafield_codec.encode("temperature", {"temperature_c": 20 + fcnt})
            phy = build_data(crypto, UNCONFIRMED_UP, ADDR, fcnt, fport=port, payload=payload)
            out.write(json.dumps({"phy": phy.hex(), "rssi": -70, "snr": 8.0}) + "\n")
    service = GatewayService(from_dict(config(tmp_path)))
    service.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(service.network_server.readings) < 3:
            time.sleep(0.05)
    finally:
        service.stop()
    db = sqlite3.connect(tmp_path / "state" / "lns.sqlite3")
    rows = db.execute("SELECT dev_eui, fcnt, data FROM readings ORDER BY id").fetchall()
    db.close()
    assert [(e, f, json.loads(d)) for e, f, d in rows] == [
        (EUI, n, {"temperature_c": 20 + n}) for n in range(3)
    ]


def test_a_missing_fleet_file_is_one_line(tmp_path):
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(
        f'[gateway]\nstate_dir = "{tmp_path}/state"\n[radio]\nkind = "replay"\n'
        f'replay_path = "{tmp_path}/f.jsonl"\n'
        f'[local]\nenabled = true\nfleet = "{tmp_path}/nope.toml"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "lorafield_tools", "gateway", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "local.fleet:" in result.stderr and "no such fleet file" in result.stderr
    assert "Traceback" not in result.stderr
