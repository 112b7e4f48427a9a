// Host for the real MicroPython WebAssembly VM: one persistent VM per process, driven by
// lorafield_tools.mpvm over a line protocol (one JSON object per line on stdin; one JSON reply
// per line on stdout). MicroPython's own stdout/stderr are captured per request, so nothing
// but replies ever reaches this process's stdout.
//
// argv: <path to micropython.mjs> <heap size in bytes>
// Requests:  {"op": "run", "code": str}
//            {"op": "write", "files": [{"path": str, "b64": str}, ...]}
//            {"op": "gc_total"}
// Replies:   {"ok": true, "stdout": str, "stderr": str, "gc_total": int}
//            {"ok": false, "stdout": str, "stderr": str, "type": str, "traceback": str,
//             "fatal": bool, "gc_total": int | null}
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const [modulePath, heapArg] = process.argv.slice(2);
const heapsize = parseInt(heapArg, 10);

let out = [];
let err = [];
const take = (chunks) => {
    const text = Buffer.concat(chunks).toString("utf8");
    chunks.length = 0;
    return text;
};

function reply(obj) {
    process.stdout.write(JSON.stringify(obj) + "\n");
}

let mp;
try {
    const { loadMicroPython } = await import(pathToFileURL(modulePath).href);
    mp = await loadMicroPython({
        heapsize,
        linebuffer: false,
        // MicroPython's stdin is EOF: the real stdin carries this protocol and must not be read.
        stdin: () => null,
        stdout: (b) => out.push(Buffer.from(b)),
        stderr: (b) => err.push(Buffer.from(b)),
    });
} catch (e) {
    reply({ ok: false, fatal: true, type: "HostError", traceback: String(e && e.stack || e) });
    process.exit(1);
}

// The GC total as micropython.mem_info() reports it ("GC: total: N, ..."). gc.mem_free() is no
// use here: this port counts the heap it *could* still add as split heaps ("max new split") as
// free, so only mem_info's total shows whether a split heap was added.
function gcTotal() {
    const saved = take(out);
    mp.runPython("__import__('micropython').mem_info()");
    const info = take(out);
    out.push(Buffer.from(saved, "utf8"));
    const m = /GC: total: (\d+)/.exec(info);
    return m ? parseInt(m[1], 10) : null;
}

function mkdirs(path) {
    const parts = path.split("/").filter((p) => p.length);
    let cur = "";
    for (const part of parts.slice(0, -1)) {
        cur += "/" + part;
        try {
            mp.FS.mkdir(cur);
        } catch (e) {
            // EEXIST is fine; anything else shows up when the file is written.
        }
    }
}

function handle(req) {
    if (req.op === "run") {
        try {
            mp.runPython(req.code);
        } catch (e) {
            const python = e && e.constructor && e.constructor.name === "PythonError";
            const fatal = !python;
            return {
                ok: false,
                fatal,
                type: python ? e.type : "HostError",
                traceback: python ? e.message : String(e && e.stack || e),
                stdout: take(out),
                stderr: take(err),
                gc_total: fatal ? null : gcTotal(),
            };
        }
        const stdout = take(out);
        return { ok: true, stdout, stderr: take(err), gc_total: gcTotal() };
    }
    if (req.op === "write") {
        for (const f of req.files) {
            mkdirs(f.path);
            mp.FS.writeFile(f.path, Buffer.from(f.b64, "base64"));
        }
        return { ok: true, stdout: "", stderr: "", gc_total: gcTotal() };
    }
    if (req.op === "gc_total") {
        return { ok: true, stdout: "", stderr: "", gc_total: gcTotal() };
    }
    return { ok: false, fatal: false, type: "HostError", traceback: "unknown op " + req.op };
}

reply({ ok: true, ready: true, gc_total: gcTotal() });

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
    if (!line.trim()) continue;
    let res;
    try {
        res = handle(JSON.parse(line));
    } catch (e) {
        res = { ok: false, fatal: true, type: "HostError", traceback: String(e && e.stack || e) };
    }
    reply(res);
}
