"""Config tree: defaults, the annotated default file, one clear message per bad key, and
the `lorafield gateway` CLI's handling of them (exit 2, one line)."""

import tomllib

import pytest
from gw_helpers import BROKERS_TO_TEST
from lorafield_gateway import config as c
from lorafield_tools import mqtt_broker
from lorafield_tools.cli import main


def test_rendered_defaults_are_annotated_toml_that_loads_to_the_defaults():
    text = c.render_defaults()
    assert c.loads(text) == c.Config()
    data = tomllib.loads(text)
    assert set(data) == {
        "gateway",
        "radio",
        "queue",
        "semtech",
        "chirpstack",
        "local",
        "console",
        "sensorthings",
    }
    assert "# Receive spreading factor (single SF)." in text
    assert 'topic_prefix = "eu868"' in text


def test_partial_file_keeps_other_defaults():
    cfg = c.loads("[radio]\nsf = 9\n[chirpstack]\nenabled = true\nport = 18830\n")
    assert cfg.radio.sf == 9 and cfg.radio.frequency_hz == 868_100_000
    assert cfg.forwarders() == ["chirpstack"]
    assert cfg.queue_path == "/var/lib/lorafield-gateway/queue.sqlite3"


def test_console_section_off_by_default_and_its_token_beside_the_state():
    cfg = c.loads("[local]\nenabled = true\n[console]\nenabled = true\nhost = '0.0.0.0'")
    assert cfg.console.enabled and cfg.console.port == 8080 and cfg.console.tiles == ""
    assert cfg.console_token_path == "/var/lib/lorafield-gateway/console.token"
    assert not c.Config().console.enabled and c.Config().console.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[radio]\nsf = 13", "radio.sf: must be an integer in 7..12, got 13"),
        ("[radio]\nsf = '7'", "radio.sf: must be an integer, got '7'"),
        ("[radio]\nspi = 1", "radio.spi: unknown key"),
        ("[mqtt]\nhost = 'x'", "mqtt: unknown section"),
        ("radio = 3", "radio: must be a table"),
        ("[gateway]\nid = 'xyz'", "gateway.id: must be 16 hex digits"),
        ("[chirpstack]\nenabled = 1", "chirpstack.enabled: must be true or false, got 1"),
        ("[radio]\nkind = 'replay'", "radio.replay_path: required"),
        ("[radio]\nbw_hz = 200000", "radio.bw_hz: must be one of"),
        ("[radio\n", "TOML syntax"),
        ("[console]\nenabled = true", "console.enabled: needs the local network server"),
        ("[console]\nport = 0", "console.port: must be an integer in 1..65535"),
        ("[console]\nhost = 'a b'", "console.host: must be a host name or address"),
        ("[console]\ntiles = 'tiles/{z}'", "console.tiles: must be '' or an http(s) URL"),
    ],
)
def test_invalid_config_names_the_key(text, message):
    with pytest.raises(c.ConfigError) as info:
        c.loads(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_cli_print_config_and_invalid_config(tmp_path, capsys):
    assert main(["gateway", "print-config"]) == 0
    assert c.loads(capsys.readouterr().out) == c.Config()
    bad = tmp_path / "gw.toml"
    bad.write_text("[semtech]\nport_up = 70000\n")
    assert main(["gateway", "run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "semtech.port_up" in err[0] and "Traceback" not in err[0]
    assert main(["gateway", "run", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("kind", BROKERS_TO_TEST)
def test_bench_gateway_runs_and_reports_every_figure(capsys, kind):
    # A smoke run with tiny sizes: the figures themselves belong to `lorafield bench`.
    args = ["bench", "gateway", "--uplinks", "20", "--seconds", "1", "--downlinks", "2"]
    assert main([*args, "--broker", kind]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"mqtt_broker: {kind} ")
    keys = ("udp_uplinks_per_s", "mqtt_uplinks_per_s", "mqtt_latency_ms", "realtime_tx_start")
    for key in (*keys, "downlink_timing"):
        assert key in out
    assert "mqtt_uplinks_per_s: 0 " not in out and "(20 uplinks, PUBACK for each)" in out
    assert "(2 of 2 in RX1" in out
    assert main(["bench", "gateway", "--uplinks", "1"]) == 2


def test_bench_gateway_without_any_broker_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(mqtt_broker, "available", lambda: [])
    assert main(["bench", "gateway"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lorafield bench gateway: no MQTT broker: {mqtt_broker.INSTALL_HINT}"]


def test_cli_start_failures_are_one_line(tmp_path, capsys):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        '[gateway]\nstate_dir = "/proc/lorafield-no-such-dir"\n'
        f'[radio]\nkind = "replay"\nreplay_path = "{tmp_path}/r.jsonl"\n'
    )
    assert main(["gateway", "run", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lorafield gateway run: cannot start:")


def test_cli_without_an_rfm95_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "gw.toml"  # radio.kind defaults to rfm95: no Pi, no SPI here
    cfg.write_text(f'[gateway]\nstate_dir = "{tmp_path}/state"\n')
    assert main(["gateway", "run", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no RFM95 through Blinka" in err[0]


@pytest.mark.parametrize("value", ["12345678", "[12345678]", "{ p = 12345678 }"])
def test_a_bad_password_is_named_but_never_shown(value):
    with pytest.raises(c.ConfigError) as info:
        c.loads(f"[chirpstack]\npassword = {value}\n")
    message = str(info.value)
    assert message.startswith("chirpstack.password: must be a string")
    assert "12345678" not in message and "not shown" in message
