// Runs an exported lorafield codec in a bare vm context (no require, no Buffer: what TTN and
// ChirpStack give a codec) and answers JSON-line requests on stdin, one JSON line each:
//   {"fn": "decodeUplink"|"decodeDownlink"|"encodeDownlink", "input": {...}}
//   {"fn": "encode", "kind": K, "data": D}        (the runtime's encoder for any kind)
// Reply: {"result": ...} or {"threw": "message"} when the codec threw (a bug: never expected).
"use strict";
const fs = require("fs");
const readline = require("readline");
const vm = require("vm");

const context = vm.createContext({});
// ECMAScript 5.1 built-ins only (TTN's runtime): remove what ES2015+ added before the codec runs,
// so a codec that calls one of them fails here instead of on the network server.
vm.runInContext(
  `(function (g) {
    var drop = function (obj, names) { names.forEach(function (n) { delete obj[n]; }); };
    drop(g, ["Map", "Set", "WeakMap", "WeakSet", "Symbol", "Promise", "Proxy", "Reflect",
      "ArrayBuffer", "DataView", "Uint8Array", "Int8Array", "Uint8ClampedArray", "Uint16Array",
      "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "BigInt"]);
    drop(Math, ["fround", "trunc", "sign", "log2", "log10", "clz32", "imul", "cbrt", "hypot",
      "expm1", "log1p", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh"]);
    drop(Number, ["isInteger", "isSafeInteger", "isFinite", "isNaN", "parseFloat", "parseInt",
      "EPSILON", "MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER"]);
    drop(Array, ["from", "of"]);
    drop(Array.prototype, ["find", "findIndex", "fill", "includes", "copyWithin", "entries",
      "keys", "values", "flat", "flatMap", "at"]);
    drop(String, ["fromCodePoint", "raw"]);
    drop(String.prototype, ["includes", "startsWith", "endsWith", "repeat", "padStart", "padEnd",
      "codePointAt", "normalize", "trimStart", "trimEnd", "at", "replaceAll"]);
    drop(Object, ["assign", "is", "setPrototypeOf", "values", "entries", "fromEntries",
      "getOwnPropertySymbols"]);
  })(this);`,
  context,
);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), context, { filename: process.argv[2] });

function call(req) {
  if (req.fn === "encode") {
    context.__req = req;
    return vm.runInContext(
      "lorafield.guard(function () { return {bytes: lorafield.encode(__req.kind, __req.data), warnings: [], errors: []}; })",
      context,
    );
  }
  return context[req.fn](req.input);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const req = JSON.parse(line);
  let reply;
  try {
    // Round-trip through JSON inside the context's realm: what a network server stores.
    reply = { result: JSON.parse(JSON.stringify(call(req))) };
  } catch (e) {
    reply = { threw: String(e && e.stack ? e.stack : e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
