"""`lorafield bench integration`: ChirpStack/TTN figures.

- exported codec sizes (JS per target, gzip, TTN YAML and its examples);
- the exported JS in node: µs per decodeUplink / encodeDownlink over the shared vectors;
- `chirpstack sync` of N generated devices against the in-process gRPC API
  (`lorafield_tools.chirpstack.fake`): wall time and calls, first run and the no-op second run.
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lorafield_codec import KINDS

HELP = "codec export sizes, exported JS speed in node, ChirpStack sync of N devices"

_NODE_BENCH = r"""
const fs = require("fs"), vm = require("vm");
const ctx = vm.createContext({});
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), ctx);
const cases = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const rounds = Number(process.argv[4]);
function time(fn, inputs) {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) for (const input of inputs) fn(input);
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns / (rounds * inputs.length));
  }
  return best / 1000;
}
console.log(JSON.stringify({
  decode_us: time(ctx.decodeUplink, cases.up),
  encode_us: time(ctx.encodeDownlink, cases.down),
}));
"""


def add_arguments(parser):
    parser.add_argument("--devices", type=int, default=200, help="devices to sync (200)")
    parser.add_argument("--rounds", type=int, default=2000, help="JS rounds over the vectors")


def _sizes(tmp):
    from lorafield_tools.codec_export import export_js, ttn_codec_yaml

    print("codec export (lorafield codec export --target T -o lorafield.js --ttn-yaml ...)")
    for target in ("ttn", "chirpstack"):
        data = export_js(target).encode()
        print(f"  {target:<10} {len(data):6d} bytes, {len(gzip.compress(data)):5d} gzipped")
    yaml_text = ttn_codec_yaml("lorafield.js")
    examples = yaml_text.count("\n    - description:")
    print(f"  ttn yaml   {len(yaml_text.encode()):6d} bytes, {examples} examples")
    path = Path(tmp) / "lorafield.js"
    path.write_text(export_js("ttn"))
    return path


def _node_speed(js_path, tmp, rounds):
    node = shutil.which("node")
    if node is None:
        print("  node not found: JS speed skipped")
        return
    from lorafield_tools.codec_export.ttn_yaml import VECTORS

    vectors = json.loads(VECTORS.read_text())
    up = [
        {"fPort": v["fPort"], "bytes": list(bytes.fromhex(v["hex"]))}
        for v in vectors["valid"]
        if KINDS[v["kind"]]["direction"] == "uplink"
    ]
    down = [
        {"data": v["data"]} for v in vectors["valid"] if KINDS[v["kind"]]["direction"] == "downlink"
    ]
    cases = Path(tmp) / "cases.json"
    cases.write_text(json.dumps({"up": up, "down": down}))
    script = Path(tmp) / "bench.js"
    script.write_text(_NODE_BENCH)
    out = subprocess.run(
        [node, str(script), str(js_path), str(cases), str(rounds)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(out.stdout)
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"exported JS in node {version} (best of 3, {rounds} rounds over the vectors)")
    print(f"  decodeUplink    {figures['decode_us']:6.2f} us/message ({len(up)} uplink vectors)")
    print(f"  encodeDownlink  {figures['encode_us']:6.2f} us/message ({len(down)} config vectors)")


def _fleet_text(count):
    lines = ['[defaults]\njoin_eui = "70b3d57ed0000000"\n']
    for i in range(count):
        lines.append(
            f'[[device]]\ndev_eui = "70b3d57ed001{i:04x}"\nname = "node-{i:04d}"\n'
            f'kind = "{("parking", "water_level", "temperature")[i % 3]}"\n'
            f'app_key = "{os.urandom(16).hex()}"\n'
        )
    return "\n".join(lines)


def _sync_speed(tmp, count):
    import contextlib
    import io

    from lorafield_tools.chirpstack.fake import API_KEY, FakeChirpstack
    from lorafield_tools.cli import main

    fleet = Path(tmp) / "fleet.toml"
    fleet.write_text(_fleet_text(count))
    key = Path(tmp) / "key"
    key.write_text(API_KEY)
    key.chmod(0o600)  # sync refuses a key file others may read
    print(f"chirpstack sync, {count} OTAA devices, in-process gRPC API on loopback")
    with FakeChirpstack() as server:
        argv = ["chirpstack", "sync", "--fleet", str(fleet), "--server", server.address]
        argv += ["--api-key-file", str(key), "--tenant", "bench-tenant"]
        for label in ("first run", "second run"):
            before = len(server.state.calls)
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()) as out:
                status = main(argv)
            took = time.perf_counter() - start
            calls = server.state.calls[before:]
            writes = sum(1 for m, _ in calls if not m.split(".")[1].startswith(("Get", "List")))
            summary = out.getvalue().strip().splitlines()[-1]
            print(
                f"  {label:<10} {took:6.2f} s, {len(calls)} calls ({writes} writes), "
                f"exit {status}: {summary}"
            )


def run(args):
    if args.devices < 1 or args.rounds < 1:
        from lorafield_tools.cli import UsageError

        raise UsageError("--devices and --rounds must be positive")
    with tempfile.TemporaryDirectory() as tmp:
        js_path = _sizes(tmp)
        _node_speed(js_path, tmp, args.rounds)
        _sync_speed(tmp, args.devices)
    return 0
