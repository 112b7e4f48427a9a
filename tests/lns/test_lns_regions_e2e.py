"""The network server against the real firmware MAC in every region: the device (Mac +
SX127x driver on an emulated board) and the server meet only on the emulated air, through an
8-channel gateway on the region's channels (US915/AU915: FSB2). Join, the Join-accept's
CFList, the US915/AU915 LinkADRReq block that moves the device onto FSB2, a confirmed
application downlink and DeviceTimeAns, each taken by the device's own MAC."""

import importlib.util
from pathlib import Path

import pytest
from lorafield_node.region import NAMES, region

_spec = importlib.util.spec_from_file_location(
    "lorawan_e2e_field", Path(__file__).parents[1] / "lorawan" / "e2e" / "field.py"
)
field = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(field)

FSB2 = (0xFF << 8) | (1 << 65)  # channels 8..15 and 65 (RP002-1.0.4 2.5.2 / 2.8.2)


@pytest.mark.parametrize("name", NAMES)
def test_join_uplinks_channel_mask_and_downlink(name):
    fixed = name in ("US915", "AU915")
    sub_bands = (2,) if fixed else None
    f = field.Field(
        server_options={"region": name, "sub_bands": sub_bands},
        gateway_options={"region": name, "sub_bands": sub_bands},
    )
    f.mac_options = {"region": region(name)}  # a device set up with no sub-band: all 72

    def app(mac, fld):
        fld.note("attempts", field.join(mac, fld.view, limit=30))
        for i in range(3):
            if i == 2:
                mac.request_device_time()
            r = field.send(mac, fld.view, 2, b"hi", confirmed=i == 2)
            fld.note("sent", (r.acked, r.downlink.fport if r.downlink else None))
            fld.note("time", r.device_time)
            fld.note("mask", mac.session.ch_mask)
            fld.view.lightsleep(60_000)
            if i == 0:
                fld.server.enqueue(field.DEV_EUI, 7, b"\x01\x02")

    f.run(app, seconds=1200)
    (attempts,) = f.notes("attempts")
    # US915/AU915: the device starts on all 8 sub-bands and tries the next one each time; the
    # FSB2 gateway hears the second (RP002-1.0.4 2.5.2: the join sub-band rotation).
    assert attempts >= 1
    sent = f.notes("sent")
    assert len(sent) == 3
    assert sent[1][1] == 7  # the queued downlink, on FPort 7, after the second uplink
    assert sent[2][0]  # the confirmed uplink acknowledged
    seconds, fraction = f.notes("time")[2]  # GPS time at the uplink (the field's clock)
    assert abs(seconds + fraction / 256 - f.server.events[-1].time_us / 1e6 + 315_964_782) < 5
    session = f.server.session(field.DEV_EUI)
    if fixed:
        # The CFList put the device on FSB2 at once; the block made the server sure of it.
        assert f.notes("mask") == [FSB2] * 3
        assert session.enabled_mask == FSB2
        assert any(e.kind == "adr" for e in f.server.events)
    assert [e for e in f.server.events if e.kind.endswith("rejected")] == []
