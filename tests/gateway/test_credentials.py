"""Secrets outside gateway.toml: systemd credentials ($CREDENTIALS_DIRECTORY) and private
files; the [chirpstack] TLS keys, their defaults and the combinations refused."""

import pytest
from lorafield_gateway.config import ConfigError, from_dict, render_defaults
from lorafield_gateway.credentials import CredentialError, private_file, read_secret, resolve


def secret_file(path, text, mode=0o600):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_bare_name_is_a_systemd_credential(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    secret_file(tmp_path / "lorafield_mqtt-password", "pw-from-systemd\n", 0o400)
    assert resolve("lorafield_mqtt-password") == str(tmp_path / "lorafield_mqtt-password")
    assert read_secret("lorafield_mqtt-password") == "pw-from-systemd"


def test_a_bare_name_without_credentials_directory_says_how(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(CredentialError, match=r"LoadCredential= in the unit, or a path"):
        read_secret("mqtt-password")


def test_a_path_is_a_file_and_its_secret_is_one_line(tmp_path):
    path = secret_file(tmp_path / "pw", "line one\r\n")
    assert read_secret(str(path)) == "line one"
    secret_file(path, "two\nlines\n")
    with pytest.raises(CredentialError, match="on one line"):
        read_secret(str(path))
    secret_file(path, "")
    with pytest.raises(CredentialError, match="on one line"):
        read_secret(str(path))


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_a_file_every_user_may_read_or_write_is_refused_without_its_content(tmp_path, mode):
    path = secret_file(tmp_path / "pw", "hunter2-secret\n", mode)
    with pytest.raises(CredentialError) as info:
        read_secret(str(path))
    assert f"(mode {mode:04o}): chmod 600 {path}" in str(info.value)
    assert "hunter2" not in str(info.value)
    with pytest.raises(CredentialError):
        private_file(str(path))


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640])
def test_owner_and_group_modes_are_accepted(tmp_path, mode):
    path = secret_file(tmp_path / "pw", "ok\n", mode)
    assert read_secret(str(path)) == "ok"


def test_missing_directory_and_binary_files_are_one_line(tmp_path):
    with pytest.raises(CredentialError, match="cannot read .*No such file"):
        read_secret(str(tmp_path / "absent"))
    with pytest.raises(CredentialError, match="not a regular file"):
        read_secret(str(tmp_path))
    path = tmp_path / "bin"
    path.write_bytes(b"\xff\xfe\x00")
    path.chmod(0o600)
    with pytest.raises(CredentialError, match="not UTF-8"):
        read_secret(str(path))


def test_the_port_follows_tls_unless_given():
    assert from_dict({"chirpstack": {}}).chirpstack.port == 1883
    assert from_dict({"chirpstack": {"tls": True}}).chirpstack.port == 8883
    assert from_dict({"chirpstack": {"tls": True, "port": 1884}}).chirpstack.port == 1884
    assert from_dict({"chirpstack": {"port": 8883}}).chirpstack.tls is False


@pytest.mark.parametrize(
    "section, message",
    [
        ({"ca_file": "/ca.pem"}, "chirpstack.ca_file: set, but chirpstack.tls is false"),
        ({"tls_insecure_skip_verify": True}, "tls_insecure_skip_verify: set, but"),
        ({"tls": True, "cert_file": "/c.pem"}, "chirpstack.key_file: required with"),
        ({"tls": True, "key_file": "/k.pem"}, "chirpstack.cert_file: required with"),
        (
            {"username": "u", "password": "p", "password_file": "f"},
            "password_file: set together with chirpstack.password",
        ),
        ({"password_file": "f"}, "chirpstack.username: required with a password"),
        ({"tls": "yes"}, "chirpstack.tls: must be true or false"),
    ],
)
def test_combinations_that_would_not_do_what_they_seem_are_refused(section, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        from_dict({"chirpstack": section})


def test_print_config_documents_every_tls_and_secret_key():
    text = render_defaults()
    for key in ("tls", "ca_file", "cert_file", "key_file", "tls_insecure_skip_verify"):
        assert f"\n{key} = " in text, key
    assert "password_file = " in text and "8883 with tls = true" in text
    prose = " ".join(line.removeprefix("# ") for line in text.splitlines())
    assert "no encryption and no authentication" in prose  # said where Semtech is configured
    assert "systemd credential (LoadCredential=, read from $CREDENTIALS_DIRECTORY)" in prose


def test_a_password_file_in_an_error_is_named_never_read(tmp_path):
    from lorafield_gateway.forwarders.chirpstack_mqtt import connect_client

    path = secret_file(tmp_path / "pw", "the-password\n", 0o644)
    section = from_dict({"chirpstack": {"username": "gw", "password_file": str(path)}}).chirpstack
    with pytest.raises(ConfigError) as info:
        connect_client(section, "x")
    assert str(info.value).startswith(f"chirpstack.password_file: {path} can be read by every")
    assert "the-password" not in str(info.value)


def run_gateway(tmp_path, text):
    import subprocess
    import sys

    config = tmp_path / "gw.toml"
    config.write_text(f'[gateway]\nstate_dir = "{tmp_path}/state"\n' + text)
    config.chmod(0o644)
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", code, "gateway", "run", "--config", str(config)]
    return subprocess.run(
        argv + ["--radio", "emulated"], capture_output=True, text=True, timeout=20
    )


def test_the_service_refuses_a_key_file_every_user_can_read(tmp_path):
    from lorafield_tools.lab_pki import LabCA

    ca = LabCA(tmp_path / "pki")
    client = ca.client("0016c001ff000001")
    client.key.chmod(0o644)
    result = run_gateway(
        tmp_path,
        f'[chirpstack]\nenabled = true\ntls = true\ncert_file = "{client.cert}"\n'
        f'key_file = "{client.key}"\n',
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"chirpstack.key_file: {client.key} can be read by every user" in result.stderr
    assert "BEGIN" not in result.stderr


def test_an_inline_password_in_a_readable_config_is_warned_about(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    config = tmp_path / "gw.toml"
    config.write_text(
        f'[gateway]\nstate_dir = "{tmp_path}/state"\n[radio]\nkind = "emulated"\n'
        '[chirpstack]\nenabled = true\nport = 1\nusername = "gw"\npassword = "inline-pw"\n'
    )
    config.chmod(0o644)
    code = "import sys; from lorafield_tools.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "gateway", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert "chirpstack.password is written in" in err and "password_file" in err
    assert "inline-pw" not in err
    assert "connection refused" in err  # the attempt's reason, one line


def test_the_readme_tls_setup_loads_and_builds_its_context(tmp_path, monkeypatch):
    """README.md's ChirpStack TLS block, as printed, with ChirpStack-shaped files saved as
    the unit's credentials: it loads, defaults to 8883 and builds the TLS context."""
    import re
    import ssl
    import tomllib
    from pathlib import Path

    from lorafield_gateway import tls
    from lorafield_tools.lab_pki import LabCA

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    block = next(b for b in blocks if "tls = true" in b and "[chirpstack]" in b)
    ca = LabCA(tmp_path / "pki")
    client = ca.client("0016c001ff000001")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for name, source in [("ca.pem", ca.cert), ("gateway.pem", client.cert)]:
        secret_file(credentials / f"lorafield_{name}", source.read_text(), 0o444)
    secret_file(credentials / "lorafield_gateway-key.pem", client.key.read_text(), 0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    section = from_dict(tomllib.loads(block)).chirpstack
    assert (section.tls, section.port, section.host) == (True, 8883, "chirpstack.example.org")
    context = tls.client_context(section)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
