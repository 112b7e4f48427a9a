"""The firmware's persistent store on the emulated NOR flash: semantics, power cuts, wear."""

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lorafield_hw.flash import NorFlash, PowerCut
from lorafield_node.store import Store, StoreError, StoreFull


def make(block_size=256, blocks=2, prog_size=1, seed=0):
    flash = NorFlash(block_size=block_size, block_count=blocks, prog_size=prog_size, seed=seed)
    return flash, Store(flash, prog_size=prog_size, max_value=48)


def contents(store):
    return {key: store.get(key) for key in store}


def test_put_get_delete_and_remount():
    flash, store = make()
    assert store.get("fcnt") is None
    assert store.put("fcnt", b"\x01\x00\x00\x00")
    assert store.put("devaddr", b"\x26\x01\x1b\xda")
    assert store.get("fcnt") == b"\x01\x00\x00\x00"
    assert store.delete("devaddr")
    assert not store.delete("devaddr")
    store.put("fcnt", b"\x02\x00\x00\x00")
    again = Store(flash, max_value=48)
    assert contents(again) == {"fcnt": b"\x02\x00\x00\x00"}


def test_unchanged_value_costs_no_flash_operation():
    flash, store = make()
    store.put("k", b"v")
    before = flash.operations
    assert store.put("k", b"v") is False
    assert flash.operations == before


def test_blank_and_garbage_flash_are_formatted():
    flash = NorFlash(block_size=256, block_count=2)
    flash.data[:] = bytes(random.Random(1).randrange(256) for _ in range(len(flash.data)))
    store = Store(flash)
    assert store.keys() == []
    store.put("a", b"1")
    assert Store(flash).get("a") == b"1"


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        (b"k", b"v", StoreError),
        ("", b"v", StoreError),
        ("k" * 33, b"v", StoreError),
        ("k", "text", StoreError),
        ("k", bytes(49), StoreError),
    ],
)
def test_bad_keys_and_values_raise_typed_errors(key, value, error):
    _, store = make()
    with pytest.raises(error):
        store.put(key, value)


def test_store_full_is_reported_and_leaves_data_intact():
    flash, store = make(block_size=128)
    store.put("a", bytes(40))
    store.put("b", bytes(40))
    with pytest.raises(StoreFull):
        store.put("c", bytes(40))
    assert contents(Store(flash, max_value=48)) == {"a": bytes(40), "b": bytes(40)}


def test_compaction_keeps_only_live_records_and_alternates_sectors():
    flash, store = make()
    store.put("keep", b"K")
    store.put("gone", b"G")
    store.delete("gone")
    for i in range(100):
        store.put("fcnt", struct.pack("<I", i))
    assert flash.erase_counts[0] >= 2 and flash.erase_counts[1] >= 2
    assert contents(Store(flash, max_value=48)) == {"keep": b"K", "fcnt": struct.pack("<I", 99)}


def test_block_device_protocol_rejects_misaligned_page_programs():
    flash = NorFlash(block_size=1024, block_count=2, prog_size=256)
    with pytest.raises(ValueError):
        flash.writeblocks(0, b"\x00" * 4, 16)
    # the store with prog_size=256 works on it (rp2.Flash programs whole pages)
    store = Store(flash, prog_size=256)
    for i in range(200):
        store.put("n", struct.pack("<I", i))
    assert Store(flash, prog_size=256).get("n") == struct.pack("<I", 199)


# -- power cuts at every flash operation ------------------------------------------------
def workload():
    """Writes that force several compactions: a counter, config, a delete, a re-add."""
    ops = [("put", "devaddr", b"\x26\x01\x1b\xda"), ("put", "nwks", bytes(range(16)))]
    for i in range(40):
        ops.append(("put", "fcnt", struct.pack("<I", i)))
        if i == 12:
            ops.append(("delete", "nwks", None))
        if i == 25:
            ops.append(("put", "nwks", bytes(range(16, 32))))
        if i % 10 == 3:
            ops.append(("put", "cfg", bytes([i]) * (i % 7 + 1)))
    return ops


def apply(store, model, op):
    kind, key, value = op
    if kind == "put":
        store.put(key, value)
        model[key] = value
    else:
        store.delete(key)
        model.pop(key, None)


def run_with_cut(flash, ops, cut, **store_args):
    """Run `ops`; return (index of the op the cut hit or None, model before, model after)."""
    flash.arm_cut(*cut)
    try:
        store = Store(flash, **store_args)  # formats the blank flash: operations too
    except PowerCut:
        return 0, {}, {}
    model = {}
    for index, op in enumerate(ops):
        before = dict(model)
        try:
            apply(store, model, op)
        except PowerCut:
            after = dict(before)
            apply_model(after, op)
            return index, before, after
    flash.disarm()
    return None, model, model


def apply_model(model, op):
    kind, key, value = op
    if kind == "put":
        model[key] = value
    else:
        model.pop(key, None)


def count_operations(ops, **geometry):
    flash = NorFlash(**geometry)
    store = Store(flash, **store_args_for(geometry))
    model = {}
    for op in ops:
        apply(store, model, op)
    return flash.operations


def store_args_for(geometry):
    return {"prog_size": geometry.get("prog_size", 1), "max_value": 48}


GEOMETRIES = [
    {"block_size": 256, "block_count": 2},
    {"block_size": 256, "block_count": 3},
    {"block_size": 1024, "block_count": 2, "prog_size": 256},
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=["2x256", "3x256-ring", "rp2-pages"])
def test_power_cut_at_every_operation_loses_nothing(geometry):
    ops = workload()
    total = count_operations(ops, **geometry)
    assert total > len(ops)  # compactions happened (erases and copies)
    args = store_args_for(geometry)
    checked = 0
    for operation in range(total):
        for phase, seeds in (("before", [0]), ("during", [0, 1, 2]), ("after", [0])):
            for seed in seeds:
                flash = NorFlash(seed=seed, **geometry)
                hit, before, after = run_with_cut(flash, ops, (operation, phase), **args)
                assert hit is not None, (operation, phase)
                recovered = contents(Store(flash, **args))
                assert recovered in (before, after), (operation, phase, seed, hit)
                # The store keeps working after the cut: finish the workload, remount.
                store = Store(flash, **args)
                model = dict(recovered)
                for op in ops[hit:]:
                    apply(store, model, op)
                assert contents(Store(flash, **args)) == model
                checked += 1
    assert checked == total * 5


def test_repeated_cuts_during_recovery_never_lose_committed_data():
    rnd = random.Random(7)
    ops = workload()
    for trial in range(60):
        flash = NorFlash(block_size=256, block_count=2, seed=trial)
        model = {}
        position = 0
        while position < len(ops):
            store = Store(flash, max_value=48)
            assert contents(store) == model
            flash.arm_cut(flash.operations + rnd.randrange(12), rnd.choice(["before", "during"]))
            try:
                while position < len(ops):
                    before = dict(model)
                    apply_model(model, ops[position])
                    try:
                        apply(store, {}, ops[position])
                    except PowerCut:
                        recovered = contents(Store(flash, max_value=48))
                        assert recovered in (before, model)
                        model = recovered
                        raise
                    position += 1
            except PowerCut:
                continue
            flash.disarm()
        assert contents(Store(flash, max_value=48)) == model


def test_fcnt_wear_stays_low():
    """10,000 counter saves on a 2 x 4 KiB store: one erase per ~(sector / record) writes."""
    flash = NorFlash(block_size=4096, block_count=2)
    store = Store(flash)
    store.put("devaddr", b"\x26\x01\x1b\xda")
    store.put("appskey", bytes(16))
    for i in range(10_000):
        store.put("fcnt_up", struct.pack("<I", i))
    record = 3 + len("fcnt_up") + 4 + 4
    live = (3 + 7 + 4 + 4) + (3 + 7 + 16 + 4) + record
    per_erase = (4096 - 16 - live) // record
    erases = sum(flash.erase_counts)
    assert erases <= 10_000 // per_erase + 1
    assert abs(flash.erase_counts[0] - flash.erase_counts[1]) <= 1  # wear is spread


def test_garbage_after_the_log_forces_compaction_not_append():
    """Bytes that are not erased after the last record (a program torn out of order) must
    not be programmed over: the store compacts to a clean sector instead."""
    flash, store = make()
    store.put("a", b"1")
    active, _, tail, _ = store.stats()
    flash.data[active * 256 + tail + 5] = 0x00
    store = Store(flash, max_value=48)
    assert store.get("a") == b"1"
    store.put("b", b"2")
    assert store.stats()[0] != active
    assert contents(Store(flash, max_value=48)) == {"a": b"1", "b": b"2"}


# -- the same store under the real MicroPython VM ----------------------------------------
RAM_NOR = '''
class RamNor:
    """NOR flash in RAM with the extended block-device protocol; cuts at op `cut_at`
    leaving a torn prefix of `torn` bytes."""
    def __init__(self, size, count, cut_at=-1, torn=0):
        self.size, self.count = size, count
        self.data = bytearray(b"\\xff" * (size * count))
        self.ops, self.cut_at, self.torn, self.erases = 0, cut_at, torn, 0
    def readblocks(self, block, buf, offset=0):
        start = block * self.size + offset
        for i in range(len(buf)):
            buf[i] = self.data[start + i]
    def _op(self):
        self.ops += 1
        return self.ops - 1 == self.cut_at
    def writeblocks(self, block, buf, offset=0):
        start = block * self.size + offset
        n = min(self.torn, len(buf)) if self._op() else -1
        for i in range(len(buf) if n < 0 else n):
            self.data[start + i] &= buf[i]
        if n >= 0:
            raise KeyboardInterrupt
    def ioctl(self, op, arg):
        if op == 4:
            return self.count
        if op == 5:
            return self.size
        if op == 6:
            cut = self._op()
            self.erases += 1
            half = self.size // 2 if cut else self.size
            start = arg * self.size
            self.data[start:start + half] = b"\\xff" * half
            if cut:
                raise KeyboardInterrupt
            return 0
'''

RUN = """
import struct
from lorafield_node.store import Store, crc32
results = []
for cut_at in (-1, 3, 9, 17, 30, 44, 61, 80):
    dev = RamNor(128, 2, cut_at, 5)
    try:
        s = Store(dev, max_value=16)
        s.put("cfg", b"abc")
        for i in range(30):
            s.put("fcnt", struct.pack("<I", i))
            if i == 11:
                s.delete("cfg")
    except KeyboardInterrupt:
        pass
    s = Store(dev, max_value=16)
    items = sorted((k, s.get(k)) for k in s.keys())
    results.append("%d %s %d %08x" % (cut_at, items, dev.erases, crc32(dev.data)))
print("\\n".join(results))
"""


@pytest.mark.micropython
def test_store_runs_identically_under_micropython(micropython):
    micropython.run(RAM_NOR)
    on_micropython = micropython.run(RUN)
    namespace = {}
    exec(RAM_NOR, namespace)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(RUN, namespace)
    assert on_micropython == out.getvalue()
    lines = on_micropython.splitlines()
    assert len(lines) == 8
    assert "('fcnt', b'\\x1d\\x00\\x00\\x00')" in lines[0]  # uncut run: the last counter


@pytest.mark.micropython
def test_store_saves_counters_in_a_small_heap(micropython_factory):
    """2,000 counter saves with compactions in a 64 KiB heap. This port collects garbage only
    between run() calls, so the saves go in batches of 100: the heap never has to grow, so
    the store's own memory stays bounded and a batch's garbage fits in what is left."""
    vm = micropython_factory(heap_kib=64)
    vm.run(RAM_NOR)
    vm.run(
        "import struct\n"
        "from lorafield_node.store import Store\n"
        "dev = RamNor(1024, 2)\n"
        "s = Store(dev, max_value=16)\n"
        "v = bytearray(4)\n"
    )
    for batch in range(20):
        vm.run(
            f"for i in range({batch * 100}, {batch * 100 + 100}):\n"
            "    struct.pack_into('<I', v, 0, i)\n"
            "    s.put('fcnt_up', v)\n"
        )
    out = vm.run(
        "print(struct.unpack('<I', Store(dev, max_value=16).get('fcnt_up'))[0], dev.erases)"
    )
    count, erases = out.split()
    assert count == "1999"
    per_sector = (1024 - 16) // 18  # 18-byte records
    assert 2000 // per_sector <= int(erases) <= 2000 // (per_sector - 1) + 2
    assert vm.gc_total == vm.gc_total_initial


# -- property: any workload, any cut ------------------------------------------------------
KEYS = ["a", "fcnt", "session", "cfg", "k" * 32]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(KEYS), st.binary(max_size=48)),
        st.tuples(st.just("delete"), st.sampled_from(KEYS), st.none()),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    ops=operations,
    cut=st.integers(min_value=0, max_value=200),
    phase=st.sampled_from(["before", "during", "after"]),
    torn=st.one_of(st.none(), st.integers(min_value=0, max_value=120)),
    geometry=st.sampled_from(GEOMETRIES),
    seed=st.integers(min_value=0, max_value=3),
)
def test_any_workload_cut_anywhere_keeps_old_or_new(ops, cut, phase, torn, geometry, seed):
    args = store_args_for(geometry)
    flash = NorFlash(seed=seed, **geometry)
    flash.arm_cut(cut, phase, torn)
    try:
        store = Store(flash, **args)
    except PowerCut:
        assert contents(Store(flash, **args)) == {}
        return
    model = {}
    for op in ops:
        before = dict(model)
        try:
            apply(store, model, op)
        except PowerCut:
            after = dict(before)
            apply_model(after, op)
            assert contents(Store(flash, **args)) in (before, after)
            return
    assert contents(Store(flash, **args)) == model


def test_bad_geometry_and_damage_after_mount_are_typed_errors():
    with pytest.raises(StoreError):
        Store(NorFlash(block_size=256, block_count=1))  # one block cannot be power safe
    with pytest.raises(StoreError):
        Store(NorFlash(block_size=128, block_count=2), max_value=120)  # record > block
    with pytest.raises(StoreError):
        Store(NorFlash(block_size=1024, block_count=2), prog_size=300)
    flash, store = make()
    store.put("a", b"value")
    active = store.stats()[0]
    flash.data[active * 256 + 16 + 6] ^= 0x01  # bit rot inside the record
    with pytest.raises(StoreError):
        store.get("a")
    assert contents(Store(flash, max_value=48)) == {}  # a remount drops the damaged record
