// Host of the emulated board's MicroPython VM (the same npm WebAssembly build as mpvm/host.mjs),
// with synchronous I/O so that code inside the VM can call the board's emulated hardware on the
// Python side and wait for the answer (js.lorafieldHw). One JSON object per line both ways.
//
// argv: <path to micropython.mjs> <heap size in bytes>
// Python -> host:  {"op": "run", "code": str, "single": bool}
//                  {"op": "write", "files": [{"path": str, "b64": str}]}
//                  {"op": "dump"}
// host -> Python:  {"out": str}                      output of the running code, as it comes
//                  {"hw": <request>}                 a hardware call; the next line read from
//                                                    stdin is its answer, handed back to the VM
//                  {"done": true, "ok": bool, ...}   end of a request (type, traceback, files)
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const [modulePath, heapArg] = process.argv.slice(2);
const SKIP_TOP = new Set(["dev", "proc", "tmp", "home", "rom"]);

function writeAll(text) {
    const data = Buffer.from(text + "\n", "utf8");
    let off = 0;
    while (off < data.length) {
        try {
            off += fs.writeSync(1, data, off, data.length - off);
        } catch (e) {
            if (e.code !== "EAGAIN") throw e;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        }
    }
}
const send = (obj) => writeAll(JSON.stringify(obj));

const chunk = Buffer.alloc(65536);
let pending = Buffer.alloc(0);
function readLine() {
    for (;;) {
        const nl = pending.indexOf(10);
        if (nl >= 0) {
            const line = pending.subarray(0, nl).toString("utf8");
            pending = pending.subarray(nl + 1);
            return line;
        }
        let n;
        try {
            n = fs.readSync(0, chunk, 0, chunk.length, null);
        } catch (e) {
            if (e.code === "EAGAIN") {
                Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
                continue;
            }
            if (e.code === "EOF") return null;
            throw e;
        }
        if (n === 0) return null;
        pending = Buffer.concat([pending, chunk.subarray(0, n)]);
    }
}

// MicroPython writes one character at a time: collect, and pass on per line (or before a
// hardware call, or at the end) so the serial port sees output as the code produces it.
let out = [];
function flush() {
    if (out.length) {
        send({ out: Buffer.concat(out).toString("utf8") });
        out = [];
    }
}
function collect(bytes) {
    const b = Buffer.from(bytes);
    out.push(b);
    if (b.includes(10)) flush();
}

const { loadMicroPython } = await import(pathToFileURL(modulePath).href);
const mp = await loadMicroPython({
    heapsize: parseInt(heapArg, 10),
    linebuffer: false,
    stdin: () => null,
    stdout: collect,
    stderr: collect,
});

globalThis.lorafieldHw = (request) => {
    flush();
    writeAll('{"hw": ' + request + "}");
    const line = readLine();
    if (line === null) process.exit(0);
    return line;
};

function mkdirs(path) {
    let cur = "";
    for (const part of path.split("/").filter((p) => p).slice(0, -1)) {
        cur += "/" + part;
        try {
            mp.FS.mkdir(cur);
        } catch (e) {
            // exists
        }
    }
}

function dump(dir, files, dirs) {
    for (const name of mp.FS.readdir(dir)) {
        if (name === "." || name === "..") continue;
        if (dir === "/" && SKIP_TOP.has(name)) continue;
        const path = (dir === "/" ? "" : dir) + "/" + name;
        const st = mp.FS.stat(path);
        if (mp.FS.isDir(st.mode)) {
            dirs.push(path);
            dump(path, files, dirs);
        } else if (mp.FS.isFile(st.mode)) {
            files.push({ path, b64: Buffer.from(mp.FS.readFile(path)).toString("base64") });
        }
    }
}

function handle(req) {
    if (req.op === "run") {
        try {
            mp.runPython(req.code);
        } catch (e) {
            flush();
            const python = e && e.constructor && e.constructor.name === "PythonError";
            return {
                done: true,
                ok: false,
                fatal: !python,
                type: python ? e.type : "HostError",
                traceback: python ? e.message : String((e && e.stack) || e),
            };
        }
        flush();
        return { done: true, ok: true };
    }
    if (req.op === "write") {
        for (const f of req.files) {
            mkdirs(f.path);
            if (f.dir) {
                try {
                    mp.FS.mkdir(f.path);
                } catch (e) {
                    // exists
                }
            } else {
                mp.FS.writeFile(f.path, Buffer.from(f.b64, "base64"));
            }
        }
        return { done: true, ok: true };
    }
    if (req.op === "dump") {
        const files = [];
        const dirs = [];
        dump("/", files, dirs);
        return { done: true, ok: true, files, dirs };
    }
    return { done: true, ok: false, fatal: false, type: "HostError", traceback: "bad op" };
}

send({ done: true, ok: true, ready: true });
for (;;) {
    const line = readLine();
    if (line === null) break;
    if (!line.trim()) continue;
    let res;
    try {
        res = handle(JSON.parse(line));
    } catch (e) {
        res = { done: true, ok: false, fatal: true, type: "HostError", traceback: String(e) };
    }
    send(res);
}
