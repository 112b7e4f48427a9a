"""`lorafield codec export`: the JavaScript payload codec for ChirpStack v4 or TTN.

lorafield codec export --target chirpstack -o lorafield.js
lorafield codec export --target ttn -o lorafield.js --ttn-yaml lorafield-codec.yaml

Not a command of its own: `codec.py` adds it as the `export` action.
"""

import os
import sys

from lorafield_tools.cli import UsageError
from lorafield_tools.codec_export import TARGETS, ExportError, export_js, ttn_codec_yaml


def add_parser(sub):
    exp = sub.add_parser(
        "export", help="write the JavaScript codec (TS013 API) for ChirpStack v4 or TTN"
    )
    exp.add_argument("--target", required=True, choices=sorted(TARGETS))
    exp.add_argument("-o", "--output", metavar="FILE", help="write the .js here (default stdout)")
    exp.add_argument(
        "--ttn-yaml",
        metavar="FILE",
        help="also write the TTN device-repository codec YAML (examples from the vectors)",
    )


def _write_all(files):
    """Write every (path, text) or none: each goes to a temporary file beside its target
    first, and only when all are written do they replace their targets."""
    staged = []
    try:
        for path, text in files:
            if os.path.isdir(path):
                raise UsageError(f"cannot write {path} (a directory)")
            temporary = f"{path}.{os.getpid()}.tmp"  # created with the umask's mode
            try:
                with open(temporary, "x", encoding="utf-8") as handle:
                    staged.append((temporary, path))
                    handle.write(text)
            except OSError as exc:
                raise UsageError(f"cannot write {path} ({exc.strerror})") from None
        while staged:
            temporary, path = staged[0]
            try:
                os.replace(temporary, path)
            except OSError as exc:
                raise UsageError(f"cannot write {path} ({exc.strerror})") from None
            staged.pop(0)
    finally:
        for temporary, _ in staged:
            os.unlink(temporary)


def run(args):
    if args.ttn_yaml and args.target != "ttn":
        raise UsageError("--ttn-yaml needs --target ttn")
    try:
        text = export_js(args.target)
        yaml_text = None
        if args.ttn_yaml:
            name = os.path.basename(args.output) if args.output else "lorafield.js"
            yaml_text = ttn_codec_yaml(name)
    except (ExportError, OSError) as exc:
        raise UsageError(str(exc)) from None
    files = [(args.output, text)] if args.output else []
    if yaml_text is not None:
        files.append((args.ttn_yaml, yaml_text))
    _write_all(files)
    if args.output:
        print(f"wrote {args.output} ({len(text.encode())} bytes, target {args.target})")
    else:
        sys.stdout.write(text)
    if yaml_text is not None:
        examples = yaml_text.count("\n    - description:")
        print(
            f"wrote {args.ttn_yaml} ({len(yaml_text.encode())} bytes, {examples} examples)",
            file=sys.stderr if not args.output else sys.stdout,
        )
    return 0
