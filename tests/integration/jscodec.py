"""One node process running an exported codec, asked over JSON lines (see js_codec_harness.js)."""

import json
import shutil
import subprocess
from pathlib import Path

HARNESS = Path(__file__).with_name("js_codec_harness.js")


class CodecThrew(AssertionError):
    """The exported codec threw instead of returning errors."""


class JsCodec:
    def __init__(self, js_path):
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        self.proc = subprocess.Popen(
            [node, str(HARNESS), str(js_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def batch(self, requests):
        """Results of every request, in order (one write, then one reply line each)."""
        self.proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
        self.proc.stdin.flush()
        out = []
        for request in requests:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"node exited (status {self.proc.poll()})")
            reply = json.loads(line)
            if "threw" in reply:
                raise CodecThrew(f"{request}: {reply['threw']}")
            out.append(reply["result"])
        return out

    def call(self, fn, **request):
        return self.batch([dict(request, fn=fn)])[0]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
