"""Codec export: the shared codec as a JavaScript payload codec for ChirpStack v4 and TTN.

`export_js(target)` generates one self-contained ECMAScript 5.1 file from the schema;
`ttn_yaml.render(name)` the TTN device-repository codec YAML with examples from the vectors.
"""

from .javascript import MAX_BYTES, TARGETS, ExportError, export_js, schema_digest
from .ttn_yaml import render as ttn_codec_yaml

__all__ = ["MAX_BYTES", "TARGETS", "ExportError", "export_js", "schema_digest", "ttn_codec_yaml"]
