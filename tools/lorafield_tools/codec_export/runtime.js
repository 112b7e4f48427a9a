// ---- runtime: mirrors codecs/lorafield_codec (cbor.py + engine.py) rule for rule ----------
// ECMAScript 5.1 only (TTN runs codecs on an ES5.1 engine): var, function, no typed arrays.
var lorafield = (function (KINDS) {
  "use strict";
  var MAX_DEPTH = 8;

  // Error messages are str(CodecError) of the Python codec: "reason: field (detail)".
  function CodecError(reason, field, detail) {
    this.reason = reason;
    this.field = field === undefined ? null : field;
    this.detail = detail === undefined ? null : detail;
  }
  function fail(reason, field, detail) {
    throw new CodecError(reason, field, detail);
  }
  function message(e) {
    var m = e.reason;
    if (e.field !== null) m += ": " + str(e.field);
    if (e.detail !== null) m += " (" + e.detail + ")";
    return m;
  }
  function at(e, name, i) {
    return new CodecError(e.reason, name + "[" + i + "]", e.detail);
  }
  function rethrowAt(e, name, i) {
    if (e instanceof CodecError) throw at(e, name, i);
    throw e;
  }

  // Decoded CBOR values: ints are numbers, except beyond 2^53 (Big: exact decimal kept for
  // messages; every schema range is far smaller, so a Big is always out of range); floats,
  // byte strings and maps are wrapped so that no schema check mistakes them for ints/objects.
  function Big(v, s) { this.v = v; this.s = s; }
  function Float(v) { this.v = v; }
  function Bytes(b) { this.b = b; }
  function CMap(keys, vals) { this.keys = keys; this.vals = vals; }

  function isInt(v) { return typeof v === "number" || v instanceof Big; }
  function num(v) { return v instanceof Big ? v.v : v; }
  function str(v) { return v instanceof Big ? v.s : String(v); }
  function isList(v) { return Object.prototype.toString.call(v) === "[object Array]"; }
  function isObject(v) {
    return v !== null && typeof v === "object" && !isList(v) &&
      !(v instanceof CMap) && !(v instanceof Float) && !(v instanceof Big) && !(v instanceof Bytes);
  }
  function has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function count(o) {
    if (o instanceof CMap) return o.keys.length;
    var n = 0;
    for (var k in o) if (has(o, k)) n++;
    return n;
  }
  function pow2(n) {
    var r = 1;
    while (n > 0) { r *= 2; n--; }
    while (n < 0) { r /= 2; n++; }
    return r;
  }
  // Python's round(): half to even.
  function roundEven(x) {
    var f = Math.floor(x), d = x - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  // ---- CBOR reader (RFC 8949, deterministic form only: cbor.py `loads`) -------------------
  function Reader(buf) { this.buf = buf; this.pos = 0; }
  Reader.prototype.byte = function () {
    if (this.pos >= this.buf.length) fail("truncated");
    return this.buf[this.pos++];
  };
  Reader.prototype.take = function (n) {
    if (num(n) > this.buf.length - this.pos) fail("truncated");
    var out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  };
  Reader.prototype.remaining = function () { return this.buf.length - this.pos; };

  function uint(bytes) {
    var n = 0;
    for (var i = 0; i < bytes.length; i++) n = n * 256 + bytes[i];
    return n;
  }
  // Exact decimal of the 64-bit value in 8 big-endian bytes (+1 when asked), for Big.
  function decimal(bytes, plusOne) {
    var limbs = [0];
    var i, j, carry;
    for (i = 0; i < bytes.length; i++) limbs.push(bytes[i]);
    if (plusOne) {
      for (j = limbs.length - 1, carry = 1; j >= 0 && carry; j--) {
        limbs[j] += carry;
        carry = limbs[j] >> 8;
        limbs[j] &= 255;
      }
    }
    var digits = "";
    var nonzero = true;
    while (nonzero) {
      var rem = 0;
      nonzero = false;
      for (j = 0; j < limbs.length; j++) {
        var cur = rem * 256 + limbs[j];
        limbs[j] = Math.floor(cur / 10);
        rem = cur % 10;
        if (limbs[j]) nonzero = true;
      }
      digits = rem + digits;
    }
    return digits;
  }

  function argument(r, info) {
    if (info < 24) return info;
    var n, lower;
    if (info === 24) {
      n = r.byte();
      if (n < 24) fail("not canonical", null, "integer not in shortest form");
      return n;
    }
    if (info === 25) {
      n = uint(r.take(2));
      lower = 0x100;
    } else if (info === 26) {
      n = uint(r.take(4));
      lower = 0x10000;
    } else if (info === 27) {
      var raw = r.take(8);
      if (uint(raw.slice(0, 4)) === 0) fail("not canonical", null, "integer not in shortest form");
      n = uint(raw);
      return n <= 9007199254740991 ? n : new Big(n, decimal(raw, false));
    } else if (info === 31) {
      fail("unsupported", null, "indefinite length");
    } else {
      fail("malformed", null, "reserved additional information");
    }
    if (n < lower) fail("not canonical", null, "integer not in shortest form");
    return n;
  }

  // IEEE 754 half bits of x if x converts exactly, else -1 (cbor.py _f16_bits).
  function f16Bits(x) {
    var sign = 0;
    if (x < 0) { sign = 0x8000; x = -x; }
    if (x > 65504 || x < 5.960464477539063e-8) return -1;
    var units = x * 16777216;
    if (units !== Math.floor(units)) return -1;
    if (units < 1024) return sign | units;
    var e = 1;
    while (units >= 2048) {
      if (units % 2) return -1;
      units /= 2;
      e++;
    }
    return sign | (e << 10) | (units - 1024);
  }
  function fitsF32(x) {
    var a = Math.abs(x);
    if (a > 3.4028234663852886e38) return false;
    if (a < pow2(-126)) return a * pow2(149) === Math.floor(a * pow2(149));
    var e = 0;
    while (a >= pow2(e + 1)) e++;
    while (a < pow2(e)) e--;
    var m = a * pow2(23 - e);
    return m === Math.floor(m);
  }
  // Bytes our encoder would use for x (3, 5 or 9): the decoder refuses any other form.
  function floatSize(x) {
    if (x !== x || x === Infinity || x === -Infinity || x === 0) return 3;
    if (f16Bits(x) >= 0) return 3;
    return fitsF32(x) ? 5 : 9;
  }
  function ieee(bits, expBits, fracBits) {
    // bits: array of bytes, big-endian; generic binary16/32/64 decode.
    var total = bits.length * 8;
    var sign = bits[0] >= 128 ? -1 : 1;
    var exp = 0, frac = 0, i, bit;
    for (i = 1; i < total; i++) {
      bit = (bits[i >> 3] >> (7 - (i & 7))) & 1;
      if (i <= expBits) exp = exp * 2 + bit;
      else frac = frac * 2 + bit;
    }
    var bias = pow2(expBits - 1) - 1;
    if (exp === pow2(expBits) - 1) return frac ? NaN : sign * Infinity;
    if (exp === 0) return sign * frac * pow2(1 - bias - fracBits);
    return sign * (pow2(fracBits) + frac) * pow2(exp - bias - fracBits);
  }

  function simple(r, info) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    var raw, v;
    if (info === 25) {
      raw = r.take(2);
      v = ieee(raw, 5, 10);
      if (v !== v && uint(raw) !== 0x7e00) fail("not canonical", null, "NaN not in canonical form");
      return new Float(v);
    }
    if (info === 26 || info === 27) {
      raw = r.take(info === 26 ? 4 : 8);
      v = info === 26 ? ieee(raw, 8, 23) : ieee(raw, 11, 52);
      if (floatSize(v) !== raw.length + 1) fail("not canonical", null, "float not in shortest form");
      return new Float(v);
    }
    if (info === 31) fail("malformed", null, "break outside indefinite item");
    if (info >= 28) fail("malformed", null, "reserved additional information");
    return fail("unsupported", null, "simple value");
  }

  // Strict UTF-8 (what CPython's decoder accepts): no overlongs, surrogates or > U+10FFFF.
  function utf8(b) {
    var out = "", i = 0, c, n, cp, lo, hi;
    while (i < b.length) {
      c = b[i++];
      if (c < 0x80) { out += String.fromCharCode(c); continue; }
      if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; lo = 0x80; hi = 0xbf; }
      else if (c >= 0xe0 && c <= 0xef) {
        n = 2; cp = c & 0x0f;
        lo = c === 0xe0 ? 0xa0 : 0x80;
        hi = c === 0xed ? 0x9f : 0xbf;
      } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3; cp = c & 0x07;
        lo = c === 0xf0 ? 0x90 : 0x80;
        hi = c === 0xf4 ? 0x8f : 0xbf;
      } else return null;
      for (var k = 0; k < n; k++) {
        if (i >= b.length) return null;
        var d = b[i++];
        if (d < (k === 0 ? lo : 0x80) || d > (k === 0 ? hi : 0xbf)) return null;
        cp = cp * 64 + (d & 0x3f);
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        out += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else out += String.fromCharCode(cp);
    }
    return out;
  }

  function keyBefore(a, b) { // length-first, then bytewise (cbor.py _key_order)
    if (a.length !== b.length) return a.length < b.length;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
  }

  function decodeItem(r, depth) {
    if (depth > MAX_DEPTH) fail("nesting too deep");
    var ib = r.byte();
    var major = ib >> 5, info = ib & 31;
    if (major === 7) return simple(r, info);
    var n = argument(r, info);
    var i, out;
    if (major === 0) return n;
    if (major === 1) {
      if (n instanceof Big) return new Big(-1 - n.v, "-" + decimal(r.buf.slice(r.pos - 8, r.pos), true));
      return -1 - n;
    }
    if (major === 2) return new Bytes(r.take(n));
    if (major === 3) {
      var text = utf8(r.take(n));
      if (text === null) fail("malformed", null, "text is not UTF-8");
      return text;
    }
    if (major === 4) {
      if (num(n) > r.remaining()) fail("truncated");
      out = [];
      for (i = 0; i < n; i++) out.push(decodeItem(r, depth + 1));
      return out;
    }
    if (major === 5) {
      if (2 * num(n) > r.remaining()) fail("truncated");
      out = new CMap([], []);
      var prev = null;
      for (i = 0; i < n; i++) {
        var start = r.pos;
        var k = decodeItem(r, depth + 1);
        var order = r.buf.slice(start, r.pos);
        if (!isInt(k) && typeof k !== "string") fail("unsupported", null, "map key type");
        if (prev !== null && !keyBefore(prev, order)) {
          fail("not canonical", null, "map keys unsorted or duplicated");
        }
        prev = order;
        out.keys.push(k);
        out.vals.push(decodeItem(r, depth + 1));
      }
      return out;
    }
    return fail("unsupported", null, "tag");
  }

  function loads(bytes) {
    var r = new Reader(bytes);
    var v = decodeItem(r, 0);
    if (r.remaining()) fail("trailing bytes");
    return v;
  }

  // ---- CBOR writer: ints (< 2^53), false/true/null, arrays, int-keyed maps ----------------
  function head(out, major, n) {
    var mt = major << 5;
    if (n < 24) out.push(mt | n);
    else if (n < 0x100) out.push(mt | 24, n);
    else if (n < 0x10000) out.push(mt | 25, n >> 8, n & 255);
    else if (n < 0x100000000) out.push(mt | 26, (n / 0x1000000) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
    else {
      var hi = Math.floor(n / 0x100000000), lo = n % 0x100000000;
      out.push(mt | 27);
      head4(out, hi);
      head4(out, lo);
    }
  }
  function head4(out, n) {
    out.push((n / 0x1000000) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
  }
  function encodeItem(out, v) {
    var i;
    if (v === null) out.push(0xf6);
    else if (v === false) out.push(0xf4);
    else if (v === true) out.push(0xf5);
    else if (typeof v === "number") {
      if (v >= 0) head(out, 0, v);
      else head(out, 1, -1 - v);
    } else if (isList(v)) {
      head(out, 4, v.length);
      for (i = 0; i < v.length; i++) encodeItem(out, v[i]);
    } else { // CMap built by the encoder
      var pairs = [];
      for (i = 0; i < v.keys.length; i++) {
        var kb = [];
        encodeItem(kb, v.keys[i]);
        pairs.push({ k: kb, v: v.vals[i] });
      }
      pairs.sort(function (a, b) { return keyBefore(a.k, b.k) ? -1 : keyBefore(b.k, a.k) ? 1 : 0; });
      head(out, 5, pairs.length);
      for (i = 0; i < pairs.length; i++) {
        for (var j = 0; j < pairs[i].k.length; j++) out.push(pairs[i].k[j]);
        encodeItem(out, pairs[i].v);
      }
    }
  }

  // ---- field values (engine.py) -----------------------------------------------------------
  function scaleOf(f) { return f.scale === undefined ? 1 : f.scale; }

  function encInt(f, v, name) {
    var scale = scaleOf(f), n;
    if (typeof v === "number" && v === Math.floor(v) && isFinite(v)) n = v * scale;
    else if (typeof v === "number" && scale > 1) {
      if (!isFinite(v)) fail("out of range", name);
      n = roundEven(v * scale);
    } else fail("wrong type", name, scale > 1 ? "number expected" : "int expected");
    if (n < f.min * scale || n > f.max * scale) fail("out of range", name);
    return n;
  }
  function decInt(f, n, name) {
    if (!isInt(n)) fail("wrong type", name);
    var scale = scaleOf(f);
    if (num(n) < f.min * scale || num(n) > f.max * scale) fail("out of range", name);
    return scale === 1 ? n : n / scale; // = Python round(n / scale, digits)
  }
  function encEnum(f, v, name) {
    if (typeof v !== "string") fail("wrong type", name, "name expected");
    for (var i = 0; i < f.values.length; i++) if (f.values[i] === v) return i;
    return fail("out of range", name, "unknown value");
  }
  function decEnum(f, n, name) {
    if (!isInt(n)) fail("wrong type", name);
    if (num(n) < 0 || num(n) >= f.values.length) fail("out of range", name);
    return f.values[n];
  }
  function encVersion(f, v, name) {
    if (typeof v !== "string") fail("wrong type", name, "'a.b.c' expected");
    var parts = v.split(".");
    if (parts.length !== 3) fail("wrong type", name, "'a.b.c' expected");
    for (var i = 0; i < 3; i++) {
      var p = parts[i];
      var ok = p.length > 0 && p.length < 4 && !(p.length > 1 && p.charAt(0) === "0");
      for (var j = 0; j < p.length; j++) ok = ok && p.charAt(j) >= "0" && p.charAt(j) <= "9";
      if (!ok) fail("wrong type", name, "'a.b.c' expected");
    }
    var major = parseInt(parts[0], 10), minor = parseInt(parts[1], 10), patch = parseInt(parts[2], 10);
    if (major > f.major_max || minor >= pow2(f.minor_bits) || patch >= pow2(f.patch_bits)) {
      fail("out of range", name);
    }
    return (major * pow2(f.minor_bits) + minor) * pow2(f.patch_bits) + patch;
  }
  function decVersion(f, n, name) {
    if (!isInt(n)) fail("wrong type", name);
    var x = num(n);
    var major = Math.floor(x / pow2(f.minor_bits + f.patch_bits));
    if (x < 0 || major > f.major_max) fail("out of range", name);
    var minor = Math.floor(x / pow2(f.patch_bits)) % pow2(f.minor_bits);
    return major + "." + minor + "." + (x % pow2(f.patch_bits));
  }
  function checkLen(f, n, name) {
    if (n < f.min_len || (f.max_len !== undefined && n > f.max_len)) fail("out of range", name, "length");
  }
  function encEnumList(f, v, name) {
    if (!isList(v)) fail("wrong type", name, "list expected");
    checkLen(f, v.length, name);
    var out = [];
    for (var i = 0; i < v.length; i++) {
      try { out.push(encEnum(f, v[i], name)); } catch (e) { rethrowAt(e, name, i); }
    }
    return out;
  }
  function decEnumList(f, v, name) {
    if (!isList(v)) fail("wrong type", name);
    checkLen(f, v.length, name);
    var out = [];
    for (var i = 0; i < v.length; i++) {
      try { out.push(decEnum(f, v[i], name)); } catch (e) { rethrowAt(e, name, i); }
    }
    return out;
  }
  function encMap(f, v, name) {
    if (!isObject(v)) fail("wrong type", name, "object expected");
    checkLen(f, count(v), name);
    var out = new CMap([], []);
    for (var k in v) {
      if (!has(v, k)) continue;
      var key = null;
      for (var i = 0; i < f.keys.length; i++) if (f.keys[i].name === k) key = f.keys[i];
      if (key === null) fail("unknown field", name + "." + k);
      out.keys.push(key.code);
      out.vals.push(encInt(key, v[k], name + "." + k));
    }
    return out;
  }
  function decMap(f, v, name) {
    if (!(v instanceof CMap)) fail("wrong type", name);
    checkLen(f, count(v), name);
    var out = {};
    for (var j = 0; j < v.keys.length; j++) {
      var code = v.keys[j], key = null;
      for (var i = 0; i < f.keys.length; i++) if (f.keys[i].code === code) key = f.keys[i];
      if (key === null) fail("unknown field", name + "." + str(code));
      out[key.name] = decInt(key, v.vals[j], name + "." + key.name);
    }
    return out;
  }
  function encValue(f, v) {
    var t = f.type, name = f.name;
    if (t === "int") return encInt(f, v, name);
    if (t === "enum") return encEnum(f, v, name);
    if (t === "bool") {
      if (typeof v !== "boolean") fail("wrong type", name, "true/false expected");
      return v;
    }
    if (t === "flag") {
      if (v !== true) fail("wrong type", name, "only true is valid");
      return true;
    }
    if (t === "version") return encVersion(f, v, name);
    if (t === "enum_list") return encEnumList(f, v, name);
    return encMap(f, v, name);
  }
  function decValue(f, v) {
    var t = f.type, name = f.name;
    if (t === "int") return decInt(f, v, name);
    if (t === "enum") return decEnum(f, v, name);
    if (t === "bool") {
      if (typeof v !== "boolean") fail("wrong type", name);
      return v;
    }
    if (t === "flag") {
      if (v !== true) fail("wrong type", name);
      return true;
    }
    if (t === "version") return decVersion(f, v, name);
    if (t === "enum_list") return decEnumList(f, v, name);
    return decMap(f, v, name);
  }

  // ---- bits packing -----------------------------------------------------------------------
  function offset(f) { return f.optional && f.type !== "flag" ? 1 : 0; }
  function encCode(f, v) {
    var t = f.type;
    if (t === "bool" || t === "flag") return encValue(f, v) ? 1 : 0;
    if (t === "int") return encInt(f, v, f.name) - f.min * scaleOf(f);
    if (t === "enum") return encEnum(f, v, f.name);
    return encVersion(f, v, f.name);
  }
  function decCode(f, code) {
    var t = f.type;
    if (t === "bool") return code === 1;
    if (t === "flag") return true;
    if (t === "int") return decInt(f, code + f.min * scaleOf(f), f.name);
    return decValue(f, code);
  }
  function encBits(slot, data) {
    var total = 0, shift = 0, present = false;
    for (var i = 0; i < slot.fields.length; i++) {
      var f = slot.fields[i];
      if (has(data, f.name)) {
        present = true;
        var code = encCode(f, data[f.name]) + offset(f);
        if (f.bits && code >= pow2(f.bits)) fail("out of range", f.name);
        total += code * pow2(shift);
      } else if (!f.optional) fail("missing field", f.name);
      shift += f.bits;
    }
    return present ? total : null;
  }
  function decBits(slot, v, out) {
    var fields = slot.fields;
    if (!isInt(v) || num(v) < 0) fail("wrong type", fields[0].name);
    var x = num(v), required = false, shift = 0;
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      var code = Math.floor(x / pow2(shift));
      if (f.bits) code %= pow2(f.bits);
      if (f.optional) {
        if (code) out[f.name] = decCode(f, code - offset(f));
      } else {
        required = true;
        if (f.type === "bool" && code > 1) fail("out of range", f.name);
        out[f.name] = decCode(f, code);
      }
      shift += f.bits;
    }
    var last = fields[fields.length - 1];
    if (last.bits && Math.floor(x / pow2(shift))) fail("out of range", last.name);
    if (!required && x === 0) fail("not canonical", fields[0].name, "empty packed item");
  }

  // ---- delta packing ----------------------------------------------------------------------
  function encDelta(slot, data) {
    var f = slot.field, fi = slot.interval, name = f.name;
    if (!has(data, name)) {
      if (has(data, fi.name)) fail("missing field", name);
      return null;
    }
    if (!has(data, fi.name)) fail("missing field", fi.name);
    var seq = data[name];
    if (!isList(seq)) fail("wrong type", name, "list expected");
    checkLen(f, seq.length, name);
    var out = [encInt(fi, data[fi.name], fi.name)];
    var prev = 0;
    for (var i = 0; i < seq.length; i++) {
      var n;
      try { n = encInt(f, seq[i], name); } catch (e) { rethrowAt(e, name, i); }
      out.push(n - prev);
      prev = n;
    }
    return out;
  }
  function decDelta(slot, v, out) {
    var f = slot.field, fi = slot.interval, name = f.name;
    if (!isList(v) || v.length < 2) fail("wrong type", name);
    checkLen(f, v.length - 1, name);
    out[fi.name] = decInt(fi, v[0], fi.name);
    var levels = [], level = 0;
    for (var i = 1; i < v.length; i++) {
      if (!isInt(v[i])) fail("wrong type", name);
      level += num(v[i]);
      try { levels.push(decInt(f, level, name)); } catch (e) { rethrowAt(e, name, i - 1); }
    }
    out[name] = levels;
  }

  // ---- slots ------------------------------------------------------------------------------
  function slotFields(slot, acc) {
    var i;
    if (slot.pack === "item") acc.push(slot.field.name);
    else if (slot.pack === "bits") for (i = 0; i < slot.fields.length; i++) acc.push(slot.fields[i].name);
    else if (slot.pack === "delta") acc.push(slot.field.name, slot.interval.name);
    else for (i = 0; i < slot.options.length; i++) slotFields(slot.options[i], acc);
    return acc;
  }
  function encSlot(slot, data) {
    var pack = slot.pack;
    if (pack === "item") {
      var f = slot.field;
      if (has(data, f.name)) return encValue(f, data[f.name]);
      if (!f.optional) fail("missing field", f.name);
      return null;
    }
    if (pack === "bits") return encBits(slot, data);
    if (pack === "delta") return encDelta(slot, data);
    var chosen = null;
    for (var i = 0; i < slot.options.length; i++) {
      var names = slotFields(slot.options[i], []);
      for (var j = 0; j < names.length; j++) {
        if (has(data, names[j])) {
          if (chosen !== null && chosen !== slot.options[i]) fail("conflicting fields", names[j]);
          chosen = slot.options[i];
        }
      }
    }
    if (chosen === null) {
      if (!slot.optional) fail("missing field", slotFields(slot.options[0], [])[0]);
      return null;
    }
    return encSlot(chosen, data);
  }
  function isRequired(slot) {
    if (slot.pack === "item") return !slot.field.optional;
    if (slot.pack === "bits") {
      for (var i = 0; i < slot.fields.length; i++) if (!slot.fields[i].optional) return true;
      return false;
    }
    if (slot.pack === "delta") return true;
    return !slot.optional;
  }
  function cborKind(slot) {
    var array = slot.pack === "delta" || (slot.pack === "item" && slot.field.type === "enum_list");
    return array ? "array" : "scalar";
  }
  function decSlot(slot, v, out) {
    if (v === null) {
      if (isRequired(slot)) fail("missing field", slotFields(slot, [])[0]);
      return;
    }
    if (slot.pack === "item") out[slot.field.name] = decValue(slot.field, v);
    else if (slot.pack === "bits") decBits(slot, v, out);
    else if (slot.pack === "delta") decDelta(slot, v, out);
    else {
      var want = isList(v) ? "array" : "scalar";
      for (var i = 0; i < slot.options.length; i++) {
        if (cborKind(slot.options[i]) === want) {
          decSlot(slot.options[i], v, out);
          return;
        }
      }
      fail("wrong type", slotFields(slot, [])[0]);
    }
  }

  // ---- public: encode(kind, data) -> bytes, decode(fPort, bytes) -> {kind, data} ----------
  function kindOf(fPort) {
    var isIntPort = typeof fPort === "number" && fPort === Math.floor(fPort) && isFinite(fPort);
    for (var k in KINDS) if (has(KINDS, k) && KINDS[k].fport === fPort && isIntPort) return k;
    return fail("unknown fPort", null, isIntPort ? String(fPort) : "not an int");
  }
  function encode(kind, data) {
    if (typeof kind !== "string" || !has(KINDS, kind)) fail("unknown kind", kind);
    var spec = KINDS[kind];
    if (!isObject(data)) fail("wrong type", kind, "object expected");
    var known = [], i;
    for (i = 0; i < spec.items.length; i++) slotFields(spec.items[i], known);
    for (var name in data) {
      if (!has(data, name)) continue;
      var found = false;
      for (i = 0; i < known.length; i++) if (known[i] === name) found = true;
      if (!found) fail("unknown field", name);
    }
    var items = [];
    for (i = 0; i < spec.items.length; i++) items.push(encSlot(spec.items[i], data));
    while (items.length && items[items.length - 1] === null) items.pop();
    if (!items.length) fail("missing field", known.join(" | "), "at least one field");
    var out = [];
    encodeItem(out, items.length === 1 && !isList(items[0]) ? items[0] : items);
    return out;
  }
  function toBytes(bytes) {
    var ok = bytes !== null && typeof bytes === "object" && typeof bytes.length === "number";
    var out = [];
    for (var i = 0; ok && i < bytes.length; i++) {
      var b = bytes[i];
      ok = typeof b === "number" && b >= 0 && b <= 255 && b === Math.floor(b);
      out.push(b);
    }
    if (!ok) fail("wrong type", null, "payload must be bytes");
    return out;
  }
  function decode(fPort, bytes) {
    var kind = kindOf(fPort);
    var slots = KINDS[kind].items;
    var value = loads(toBytes(bytes));
    var items;
    if (isList(value)) {
      var n = value.length;
      if (n === 0 || value[n - 1] === null) fail("not canonical", null, "empty array or trailing null");
      if (n === 1 && !isList(value[0])) fail("not canonical", null, "single item must be sent bare");
      if (n > slots.length) fail("out of range", null, "too many items");
      items = value;
    } else items = [value];
    var data = {};
    for (var i = 0; i < slots.length; i++) decSlot(slots[i], i < items.length ? items[i] : null, data);
    if (!count(data)) fail("missing field", null, "at least one field");
    return { kind: kind, data: data };
  }

  // Never throws: a codec error (or anything unexpected) becomes {errors: [message]}.
  function guard(fn) {
    try {
      return fn();
    } catch (e) {
      var text = e instanceof CodecError ? message(e) : "internal error: " + String(e);
      return { errors: [text], warnings: [] };
    }
  }
  return { KINDS: KINDS, encode: encode, decode: decode, guard: guard, has: has };
})(LORAFIELD_SCHEMA);

function lorafieldDecode(input, direction) {
  return lorafield.guard(function () {
    var got = lorafield.decode(input === null || input === undefined ? undefined : input.fPort,
      input === null || input === undefined ? undefined : input.bytes);
    var warnings = [];
    if (lorafield.KINDS[got.kind].direction !== direction) {
      warnings.push("fPort " + input.fPort + " carries " + got.kind + ", a " +
        lorafield.KINDS[got.kind].direction + " message");
    }
    return { data: got.data, warnings: warnings, errors: [] };
  });
}

// TS013 / TTN / ChirpStack v4: input {bytes, fPort, variables, recvTime} -> {data, warnings, errors}
function decodeUplink(input) {
  return lorafieldDecode(input, "uplink");
}

// input {bytes, fPort} -> {data, warnings, errors}
function decodeDownlink(input) {
  return lorafieldDecode(input, "downlink");
}

// input {data, fPort (optional)} -> {bytes, fPort, warnings, errors}. The kind is the downlink
// kind on input.fPort, or the only downlink kind when no fPort is given.
function encodeDownlink(input) {
  return lorafield.guard(function () {
    var kinds = lorafield.KINDS, kind = null, count = 0, k;
    var fPort = input !== null && input !== undefined ? input.fPort : undefined;
    for (k in kinds) {
      if (!lorafield.has(kinds, k) || kinds[k].direction !== "downlink") continue;
      if (fPort === undefined || fPort === null || kinds[k].fport === fPort) {
        kind = k;
        count++;
      }
    }
    if (count !== 1) {
      var why = count ? "fPort needed: several downlink kinds" : "unknown fPort (" + fPort + ")";
      return { errors: [why], warnings: [] };
    }
    var data = input !== null && input !== undefined ? input.data : undefined;
    return { bytes: lorafield.encode(kind, data), fPort: kinds[kind].fport, warnings: [], errors: [] };
  });
}
