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
