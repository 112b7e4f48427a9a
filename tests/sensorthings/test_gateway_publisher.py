"""The gateway service's `[sensorthings]` forwarder: an emulated radio, two emulated nodes of
a fleet synced to a real SensorThings server, the local network server; the readings it
stores arrive as Observations while the service runs, through a server outage, each once."""

import contextlib
import io
import json
import logging
import sqlite3
import time
import urllib.request

import pytest
from lorafield_gateway import config as gwconfig
from lorafield_gateway.sensorthings.mapping import observations
from lorafield_gateway.service import GatewayService
from lorafield_tools.cli import main


def observation_keys(url):
    keys, link = [], url + "/Observations?%24top=100"
    while link:
        with urllib.request.urlopen(link, timeout=10) as response:
            page = json.load(response)
        keys += [o["parameters"]["lorafield_key"] for o in page["value"]]
        link = page.get("@iot.nextLink")
    return keys


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_the_gateway_sends_its_readings_as_observations(tmp_path, sta_server, field, caplog):
    fleet = field[1]  # its first two devices are the emulated nodes (parking bays)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["sensorthings", "sync", "--url", sta_server.url, "--fleet", str(fleet)]) == 0
    cfg = gwconfig.from_dict(
        {
            "gateway": {"state_dir": str(tmp_path / "state"), "stats_interval_s": 1},
            "radio": {"kind": "emulated", "emulated_nodes": 2},
            "local": {"enabled": True, "fleet": str(fleet)},
            "sensorthings": {"enabled": True, "url": sta_server.url, "interval_s": 1},
        }
    )
    service = GatewayService(cfg)
    db = tmp_path / "state" / "lns.sqlite3"

    def stored_keys():
        """lorafield_key of every Observation the readings stored so far map to."""
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            rows = con.execute("SELECT dev_eui, time_us, kind, data, fcnt FROM readings")
            rows = rows.fetchall()
            con.close()
        except sqlite3.Error:
            return set()
        keys = set()
        for eui, t, kind, data, fcnt in rows:
            reading = {"dev_eui": eui, "time_us": t, "kind": kind, "data": json.loads(data)}
            reading["fcnt"] = fcnt
            keys |= {body["parameters"]["lorafield_key"] for _, body in observations(reading)}
        return keys

    with caplog.at_level(logging.INFO, logger="lorafield"):
        service.start()
        try:
            assert service.sensorthings is not None, caplog.text
            service.sensorthings.backoff_max_s = 2  # the test's outage is seconds long
            assert wait_for(lambda: len(observation_keys(sta_server.url)) >= 4, 40)
            first = set(observation_keys(sta_server.url))
            sta_server.stop()  # the platform goes down for a while
            before = stored_keys()
            assert wait_for(lambda: len(stored_keys() - before) >= 4, 40)
            sta_server.start()
            during = stored_keys() - before
            assert wait_for(lambda: during <= set(observation_keys(sta_server.url)), 40)
        finally:
            service.stop()
    keys = observation_keys(sta_server.url)
    assert len(keys) == len(set(keys))  # never twice
    # every reading stored since the publisher's first pass is there, those of the outage too
    # (the ones before it belong to a `push --since` backlog)
    assert set(keys) <= stored_keys() and first <= set(keys)
    assert "server unavailable" in caplog.text and "delivering again" in caplog.text


def test_a_config_without_url_or_local_server_is_refused():
    with pytest.raises(gwconfig.ConfigError, match="sensorthings.url: required"):
        gwconfig.loads("[local]\nenabled = true\n[sensorthings]\nenabled = true")
    with pytest.raises(gwconfig.ConfigError, match="needs the local network server"):
        gwconfig.loads("[sensorthings]\nenabled = true\nurl = 'http://x/v1.1'")
