"""Serial console logic: time-stamp each line the node prints and decode the hex frames in it
with the shared codec (lorafield_codec). A line names the fPort as `port=N` / `fport=N`; without
one, a frame is shown only if exactly one message kind decodes it."""

from __future__ import annotations

import re
import time

from lorafield_codec import KINDS, CodecError, decode, fport_of

HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){2,}(?![0-9A-Fa-f])")
PORT = re.compile(r"\bf?port[=: ]\s*(\d{1,3})\b", re.IGNORECASE)
_UPLINK_PORTS = sorted({fport_of(k) for k in KINDS})


def decode_frames(line):
    """[(hex, kind, data)] for every hex run of the line the codec decodes."""
    found = []
    port_match = PORT.search(line)
    ports = [int(port_match.group(1))] if port_match else _UPLINK_PORTS
    for match in HEX_RUN.finditer(line):
        text = match.group(0)
        if text.isdigit() and port_match is None:
            continue  # a plain number, not a frame
        payload = bytes.fromhex(text)
        decoded = []
        for port in ports:
            try:
                decoded.append(decode(port, payload))
            except (CodecError, ValueError):
                continue
        if len(decoded) == 1:
            kind, data = decoded[0]
            found.append((text, kind, data))
    return found


class Console:
    """Feed it bytes; it returns finished, annotated lines."""

    def __init__(self, clock=time.time, wall=True):
        self.clock = clock
        self.wall = wall
        self.start = clock()
        self._partial = b""

    def stamp(self):
        now = self.clock()
        if self.wall:
            t = time.localtime(now)
            return time.strftime("%H:%M:%S", t) + f".{int(now * 1000) % 1000:03d}"
        return f"{now - self.start:9.3f}"

    def feed(self, data):
        self._partial += data
        lines = []
        while b"\n" in self._partial:
            raw, self._partial = self._partial.split(b"\n", 1)
            text = raw.decode("utf-8", "replace").rstrip("\r")
            stamp = self.stamp()
            lines.append(f"[{stamp}] {text}")
            for hex_text, kind, data in decode_frames(text):
                lines.append(f"[{stamp}]   -> {kind} {data}  ({len(hex_text) // 2} bytes)")
        return lines
