"""The network server queues FPort 224 (LoRaWAN's test protocol port, TS009) only through
enqueue_test; enqueue keeps applications to 1..223."""

import pytest
from lorafield_gateway.lns import DeviceRegistry, NetworkServer
from lorafield_gateway.lns.errors import LnsError

DEV_EUI = bytes.fromhex("70b3d57ed0009009")
TEST_APP_KEY = bytes(16)  # a test key


def server():
    registry = DeviceRegistry()
    registry.add_otaa(DEV_EUI, bytes(8), TEST_APP_KEY, kind="temperature", name="dut")
    return NetworkServer(registry)


def test_port_224_only_through_enqueue_test():
    ns = server()
    with pytest.raises(LnsError, match="1..223"):
        ns.enqueue(DEV_EUI, 224, b"\x00")
    ref = ns.enqueue_test(DEV_EUI, b"\x00")
    (queued,) = ns.queue(DEV_EUI)
    assert (queued.fport, queued.payload, queued.ref) == (224, b"\x00", ref)
    with pytest.raises(LnsError, match="payload longer than"):
        ns.enqueue_test(DEV_EUI, bytes(300))
    with pytest.raises(LnsError, match="unknown DevEUI"):
        ns.enqueue_test(bytes(8), b"\x00")
