"""Field tests reuse the gateway tests' mosquitto broker and MQTT/UDP helpers
(tests/gateway/conftest.py and gw_helpers.py)."""

import importlib.util
import sys
from pathlib import Path

import pytest

GATEWAY_TESTS = Path(__file__).parent.parent / "gateway"
sys.path.insert(0, str(GATEWAY_TESTS))

_spec = importlib.util.spec_from_file_location("gateway_conftest", GATEWAY_TESTS / "conftest.py")
_gateway_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gateway_conftest)


@pytest.fixture
def mosquitto(tmp_path):
    broker = _gateway_conftest.Mosquitto(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()
