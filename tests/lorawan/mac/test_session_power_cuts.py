"""FCntUp and DevNonce are never reused across power cuts (LoRaWAN 1.0.4 4.3.1.5, 6.2.4).

A loop of session operations on the emulated NOR flash, with 1,000 power cuts placed at random:
on a flash operation (before it, torn in the middle, right after it) or between uplinks. After
each cut the session is mounted again from the flash, as the next boot does. The radio is not
needed: a counter counts as used the moment take_fcnt_up() returned it (the frame could be on
air right after)."""

import random

import pytest
from lorafield_hw.flash import NorFlash, PowerCut
from lorafield_node.region import eu868
from lorafield_node.session import ABP, Session
from lorafield_node.store import Store

RESERVE = 16


@pytest.mark.parametrize("seed", [1, 2])
def test_counters_never_reused_across_1000_random_power_cuts(seed):
    rnd = random.Random(seed)
    flash = NorFlash(block_size=1024, block_count=3, seed=seed)
    region = eu868()
    used = []
    nonces = []
    gaps = []  # (counters skipped before a boot's first uplink, boots since the last one)
    boots = 0
    cuts = flash_cuts = 0
    while cuts < 1000:
        boots += 1
        try:
            s = Session(Store(flash), region, RESERVE)
            if not s.active:
                s.start(ABP, 0x26011234, bytes(16), bytes(range(16)))
            if rnd.random() < 0.7:
                flash.arm_cut(
                    flash.operations + rnd.randrange(4), rnd.choice(("before", "during", "after"))
                )
                flash_cuts += 1
            first = True
            for _ in range(rnd.randrange(1, 60)):
                f = s.take_fcnt_up()
                if first and used:
                    gaps.append((f - used[-1] - 1, boots))  # counters skipped
                    boots = 0
                first = False
                used.append(f)
                r = rnd.random()
                if r < 0.05:
                    nonces.append(s.take_dev_nonce())
                elif r < 0.10:
                    s.downlink_received(s.fcnt_down + rnd.randrange(1, 3))
                elif r < 0.12:
                    s.dr = rnd.randrange(6)
                    s.save()
        except PowerCut:
            pass
        flash.disarm()
        cuts += 1
    assert flash_cuts > 600
    assert all(b > a for a, b in zip(used, used[1:], strict=False)), "FCntUp reused"
    assert all(b > a for a, b in zip(nonces, nonces[1:], strict=False)), "DevNonce reused"
    # Skip-ahead skips at most one reservation (N counters) per boot.
    assert [g for g in gaps if g[0] > RESERVE * g[1]] == []
    assert max(gap for gap, n in gaps if n == 1) <= RESERVE
    assert len(used) > 10_000


def test_flash_writes_per_1000_uplinks_follow_the_reservation():
    flash = NorFlash(block_size=4096, block_count=4)
    s = Session(Store(flash), eu868(), fcnt_reserve=RESERVE)
    s.start(ABP, 1, bytes(16), bytes(16))
    before = s.flash_writes
    ops = flash.operations
    for _ in range(1000):
        s.take_fcnt_up()
    assert s.flash_writes - before == -(-1000 // RESERVE)
    # One program per record plus the occasional sector erase of the store's compaction.
    assert flash.operations - ops <= -(-1000 // RESERVE) + 2


def test_reboot_resumes_at_the_reservation_and_new_session_restarts():
    flash = NorFlash(block_size=4096, block_count=4)
    s = Session(Store(flash), eu868(), fcnt_reserve=10)
    s.start(ABP, 1, bytes(16), bytes(16))
    assert [s.take_fcnt_up() for _ in range(3)] == [0, 1, 2]
    s = Session(Store(flash), eu868(), fcnt_reserve=10)
    assert s.take_fcnt_up() == 10
    s.start(ABP, 2, bytes(16), bytes(16))
    assert s.take_fcnt_up() == 0
    s = Session(Store(flash), eu868(), fcnt_reserve=10)
    assert (s.dev_addr, s.take_fcnt_up()) == (2, 10)
