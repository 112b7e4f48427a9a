"""`lorafield codec encode|decode|demo|export`: the shared payload codec from the command line.

lorafield codec encode temperature '{"temperature_c": 21.5}'
{"kind": "temperature", "fPort": 12, "hex": "190866"}
lorafield codec decode --fport 12 190866
{"kind": "temperature", "data": {"temperature_c": 21.5}}
"""

import json

from lorafield_codec import KINDS, CodecError, decode, encode, fport_of

from lorafield_tools.cli import UsageError

HELP = "encode or decode a lorafield payload (CBOR, fPort names the kind)"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    enc = sub.add_parser("encode", help="KIND JSON -> {kind, fPort, hex}")
    enc.add_argument("kind", metavar="KIND", help="one of: " + ", ".join(KINDS))
    enc.add_argument("data", metavar="JSON", help="the reading as a JSON object")
    dec = sub.add_parser("decode", help="--fport N HEX -> {kind, data}")
    dec.add_argument("--fport", type=int, required=True, metavar="N", help="LoRaWAN FPort")
    dec.add_argument("hex", metavar="HEX", help="application payload in hex")
    sub.add_parser("demo", help="one message of each kind, encoded, sized and decoded")
    from lorafield_tools.commands import codec_export  # issue 9: JS codec for ChirpStack/TTN

    codec_export.add_parser(sub)


def _encode(args):
    try:
        data = json.loads(args.data)
    except ValueError as exc:
        raise UsageError(f"JSON is not valid: {exc}") from None
    try:
        payload = encode(args.kind, data)
    except CodecError as exc:
        raise UsageError(str(exc)) from None
    return {"kind": args.kind, "fPort": fport_of(args.kind), "hex": payload.hex()}


def _decode(args):
    try:
        payload = bytes.fromhex(args.hex)
    except ValueError:
        raise UsageError("HEX is not valid hexadecimal") from None
    try:
        kind, data = decode(args.fport, payload)
    except CodecError as exc:
        raise UsageError(str(exc)) from None
    return {"kind": kind, "data": data}


def run(args):
    if args.action == "demo":
        from lorafield_tools.commands import codec_demo

        return codec_demo.run(args)
    if args.action == "export":
        from lorafield_tools.commands import codec_export

        return codec_export.run(args)
    result = _encode(args) if args.action == "encode" else _decode(args)
    print(json.dumps(result))
    return 0
