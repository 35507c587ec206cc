// SPDX-License-Identifier: Apache-2.0
// CBOR (RFC 8949) for starmark's signed objects: a strict, capped decoder, a pull reader, and an encoder.
//
// export const DEFAULT_CAPS = { maxSize, maxDepth, maxItems }
// export function decode(bytes, caps?) -> value
//     One whole item filling `bytes` (nothing after it). Definite lengths only; caps on size (too-big),
//     nesting depth and item count (invalid). Values: unsigned and negative integers -> Number,
//     byte strings -> Uint8Array (a view into `bytes`), text -> string (valid UTF-8 only), arrays -> Array,
//     maps -> Map (insertion order = encoded order; a repeated key is refused), tags -> Tagged,
//     false/true/null, undefined, floats -> Number, other simple values -> Simple.
//     Heads need not be the shortest: lib accepts any (what must be deterministic, as label claims,
//     is re-encoded and compared by its reader). Errors: SmError 'invalid' / 'too-big' naming the byte.
// export class Reader(bytes, field) — lib's pull reader (lib/cbor_int.h): next(), readUint(what),
//     readInt(what), readText(max, what), readBytes(max, what), readArray(max, what), readMap(max, what),
//     readNullOr(fn), atEnd(), off. Over `max` is 'too-big', a wrong type 'invalid'.
// export function encode(value) -> Uint8Array
//     Deterministic (shortest heads, definite lengths) for Number (integers), string, Uint8Array,
//     Array, Map (in its order), Tagged, boolean, null. Enough for COSE's Sig_structure and the payloads
//     whose exact bytes starmark signs (trust bundle root proofs, label claims).
// Integers past 2^53 are read as the nearest Number (no starmark field reaches that far honestly).
import { fail } from './errors.js';

export const DEFAULT_CAPS = Object.freeze({ maxSize: 16 * 1024 * 1024, maxDepth: 16, maxItems: 100000 });

export class Tagged {
	constructor(tag, value) {
		this.tag = tag;
		this.value = value;
	}
}

export class Simple {
	constructor(value) {
		this.value = value;
	}
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8enc = new TextEncoder();

// One item head at `off`: { major, arg, ai, end } or an 'invalid' error naming the byte.
function head(bytes, off, field) {
	if (off >= bytes.length) fail('invalid', field, `${field}: CBOR cut short at byte ${off}`);
	const b0 = bytes[off];
	const major = b0 >> 5;
	const ai = b0 & 0x1f;
	if (ai >= 28) {
		fail('invalid', field, `${field}: ${ai === 31 ? 'indefinite-length' : 'malformed'} CBOR item at byte ${off}` +
			' (only definite lengths are accepted)');
	}
	const len = ai >= 24 ? 1 << (ai - 24) : 0;
	if (len > bytes.length - off - 1) fail('invalid', field, `${field}: CBOR cut short at byte ${off}`);
	let arg = ai < 24 ? ai : 0;
	for (let i = 0; i < len; i++) arg = arg * 256 + bytes[off + 1 + i];
	return { major, ai, arg, at: off, end: off + 1 + len };
}

function float16(bits) {
	const exp = (bits >> 10) & 0x1f;
	const mant = bits & 0x3ff;
	const sign = bits & 0x8000 ? -1 : 1;
	if (exp === 0) return sign * mant * 2 ** -24;
	if (exp === 31) return mant ? NaN : sign * Infinity;
	return sign * (1024 + mant) * 2 ** (exp - 25);
}

function text(bytes, field, at) {
	try {
		return utf8.decode(bytes);
	} catch {
		return fail('invalid', field, `${field}: CBOR text at byte ${at} is not valid UTF-8`);
	}
}

export function decode(bytes, caps = {}) {
	const c = { ...DEFAULT_CAPS, ...caps };
	const field = c.field || 'cbor';
	if (!(bytes instanceof Uint8Array)) fail('invalid', field, `${field}: expected bytes`);
	if (bytes.length > c.maxSize) fail('too-big', field, `${field}: ${bytes.length} bytes, more than ${c.maxSize}`);
	if (bytes.length === 0) fail('invalid', field, `${field}: empty`);
	let off = 0;
	let items = 0;
	// iterative over an explicit stack, so hostile nesting cannot exhaust the JavaScript stack
	const root = { kind: 'root', left: 1, out: [] };
	const stack = [root];
	for (;;) {
		let top = stack[stack.length - 1];
		while (top.left === 0) {
			stack.pop();
			if (top === root) {
				if (off !== bytes.length) {
					fail('invalid', field, `${field}: ${bytes.length - off} unexpected bytes after the CBOR item (at byte ${off})`);
				}
				return root.out[0];
			}
			const done = finish(top, field);
			top = stack[stack.length - 1];
			put(top, done, field);
		}
		if (++items > c.maxItems) fail('invalid', field, `${field}: more than ${c.maxItems} CBOR items`);
		const h = head(bytes, off, field);
		off = h.end;
		let value;
		switch (h.major) {
		case 0: value = h.arg; break;
		case 1: value = -1 - h.arg; break;
		case 2:
		case 3:
			if (h.arg > bytes.length - off) {
				fail('invalid', field, `${field}: string at byte ${h.at} claims ${h.arg} bytes, only ${bytes.length - off} remain`);
			}
			value = bytes.subarray(off, off + h.arg);
			if (h.major === 3) value = text(value, field, h.at);
			off += h.arg;
			break;
		case 4:
		case 5:
		case 6: {
			const children = h.major === 4 ? h.arg : h.major === 5 ? h.arg * 2 : 1;
			if (children > bytes.length - off) {
				fail('invalid', field, `${field}: container at byte ${h.at} claims more items than bytes remain`);
			}
			if (stack.length > c.maxDepth) {
				fail('invalid', field, `${field}: CBOR nested deeper than ${c.maxDepth} levels at byte ${h.at}`);
			}
			const frame = h.major === 4 ? { kind: 'array', left: children, out: [] }
				: h.major === 5 ? { kind: 'map', left: children, out: [], at: h.at }
					: { kind: 'tag', left: 1, out: [], tag: h.arg };
			top.left--;
			stack.push(frame);
			continue;
		}
		default:
			if (h.ai === 20) value = false;
			else if (h.ai === 21) value = true;
			else if (h.ai === 22) value = null;
			else if (h.ai === 23) value = undefined;
			else if (h.ai === 25) value = float16(h.arg);
			else if (h.ai === 26) value = new DataView(bytes.buffer, bytes.byteOffset + h.at + 1, 4).getFloat32(0);
			else if (h.ai === 27) value = new DataView(bytes.buffer, bytes.byteOffset + h.at + 1, 8).getFloat64(0);
			else value = new Simple(h.arg);
		}
		top.left--;
		put(top, value, field);
	}
}

function put(frame, value) {
	frame.out.push(value);
}

function finish(frame, field) {
	if (frame.kind === 'array') return frame.out;
	if (frame.kind === 'tag') return new Tagged(frame.tag, frame.out[0]);
	const m = new Map();
	for (let i = 0; i < frame.out.length; i += 2) {
		const k = frame.out[i];
		const key = k instanceof Uint8Array ? `bytes:${Array.from(k).join(',')}` : k;
		if (m.has(key)) fail('invalid', field, `${field}: the map at byte ${frame.at} repeats key ${String(k)}`);
		m.set(key, frame.out[i + 1]);
	}
	return m;
}

// ---- the pull reader ----

export class Reader {
	constructor(bytes, field) {
		this.bytes = bytes;
		this.off = 0;
		this.field = field || '';
	}

	atEnd() {
		return this.off === this.bytes.length;
	}

	// The next item head: { type, value, at } with type one of uint, negint, bytes, text, array, map, tag,
	// bool, null, float, other; strings carry their content.
	next() {
		const at = this.off;
		if (at >= this.bytes.length) fail('invalid', null, `CBOR ends early at byte ${at}`);
		const b0 = this.bytes[at];
		if ((b0 & 0x1f) === 31) fail('invalid', null, `indefinite-length CBOR at byte ${at} is not accepted`);
		if ((b0 & 0x1f) >= 28) fail('invalid', null, `malformed CBOR at byte ${at}`);
		const h = head(this.bytes, at, 'CBOR');
		this.off = h.end;
		switch (h.major) {
		case 0: return { type: 'uint', value: h.arg, at };
		case 1: return { type: 'negint', value: h.arg, at };
		case 2:
		case 3: {
			if (h.arg > this.bytes.length - this.off) fail('invalid', null, `CBOR truncated at byte ${at}`);
			const content = this.bytes.subarray(this.off, this.off + h.arg);
			this.off += h.arg;
			if (h.major === 2) return { type: 'bytes', value: content, at };
			return { type: 'text', value: text(content, 'CBOR', at), raw: content, at };
		}
		case 4: return { type: 'array', value: h.arg, at };
		case 5: return { type: 'map', value: h.arg, at };
		case 6: return { type: 'tag', value: h.arg, at };
		default:
			if (h.ai === 20 || h.ai === 21) return { type: 'bool', value: h.ai === 21, at };
			if (h.ai === 22) return { type: 'null', value: null, at };
			if (h.ai >= 25 && h.ai <= 27) return { type: 'float', value: NaN, at };
			return { type: 'other', value: h.arg, at };
		}
	}

	expect(type, what) {
		const at = this.off;
		const it = this.next();
		if (it.type !== type) fail('invalid', what, `${what}: unexpected CBOR type at byte ${at}`);
		return it;
	}

	readUint(what) {
		return this.expect('uint', what).value;
	}

	readInt(what) {
		const at = this.off;
		const it = this.next();
		if (it.type === 'uint' && it.value <= Number.MAX_SAFE_INTEGER * 1024) return it.value;
		if (it.type === 'negint' && it.value <= Number.MAX_SAFE_INTEGER * 1024) return -1 - it.value;
		return fail('invalid', what, `${what}: expected an integer at byte ${at}`);
	}

	readText(max, what) {
		const it = this.expect('text', what);
		if (it.raw.length > max) fail('too-big', what, `${what}: ${it.raw.length} bytes, more than ${max}`);
		if (it.raw.includes(0)) fail('invalid', what, `${what}: contains a NUL byte`);
		return it.value;
	}

	readBytes(max, what) {
		const it = this.expect('bytes', what);
		if (it.value.length > max) fail('too-big', what, `${what}: ${it.value.length} bytes, more than ${max}`);
		return it.value;
	}

	readArray(max, what) {
		return this.container('array', max, what);
	}

	readMap(max, what) {
		return this.container('map', max, what);
	}

	container(type, max, what) {
		const it = this.expect(type, what);
		if (it.value > max) fail('too-big', what, `${what}: ${it.value} items, more than ${max}`);
		return it.value;
	}

	// null, or what `fn` reads from the same place
	readNullOr(fn) {
		const save = this.off;
		if (this.next().type === 'null') return null;
		this.off = save;
		return fn();
	}
}

// ---- the encoder ----

function pushHead(out, major, arg) {
	if (arg < 24) {
		out.push((major << 5) | arg);
		return;
	}
	const len = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffff ? 4 : 8;
	out.push((major << 5) | (len === 1 ? 24 : len === 2 ? 25 : len === 4 ? 26 : 27));
	for (let i = len - 1; i >= 0; i--) out.push(Number((BigInt(arg) >> BigInt(8 * i)) & 0xffn));
}

function enc(out, v) {
	if (typeof v === 'number') {
		if (!Number.isInteger(v)) throw new TypeError('cbor.encode: only integers are encoded');
		if (v >= 0) pushHead(out, 0, v);
		else pushHead(out, 1, -1 - v);
	} else if (typeof v === 'string') {
		const b = utf8enc.encode(v);
		pushHead(out, 3, b.length);
		for (const x of b) out.push(x);
	} else if (v instanceof Uint8Array) {
		pushHead(out, 2, v.length);
		for (const x of v) out.push(x);
	} else if (Array.isArray(v)) {
		pushHead(out, 4, v.length);
		for (const x of v) enc(out, x);
	} else if (v instanceof Map) {
		pushHead(out, 5, v.size);
		for (const [k, x] of v) {
			enc(out, k);
			enc(out, x);
		}
	} else if (v instanceof Tagged) {
		pushHead(out, 6, v.tag);
		enc(out, v.value);
	} else if (v === false || v === true) {
		out.push(v ? 0xf5 : 0xf4);
	} else if (v === null) {
		out.push(0xf6);
	} else {
		throw new TypeError(`cbor.encode: cannot encode ${typeof v}`);
	}
}

export function encode(value) {
	const out = [];
	enc(out, value);
	return Uint8Array.from(out);
}
