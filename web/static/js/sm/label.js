// SPDX-License-Identifier: Apache-2.0
// Label tokens: the scanned text, the claims, and offline verification against a trust bundle (lib/label.c).
//
// export const TOKEN_MAX = 512, TEXT_MAX = 1200, B32_MAX = 820
// export function labelHost(text) -> string; export function hostIsOrigin(host, origin) -> boolean
// export function parseLabelText(text) -> Uint8Array (the token)
//     "HTTPS://HOST/L/<BASE32>" (any case, http or https, any host) or the bare base32 token; white space
//     around it ignored. SmError 'invalid' (field 'label') saying why: empty, over TEXT_MAX characters, no /L/
//     path, not base32 (RFC 4648, no padding, no stray bits), a token over TOKEN_MAX bytes.
// export function base32Decode(text) -> Uint8Array; export function base32Encode(bytes) -> string
// export function decodeClaims(payload) -> Claims (strict as lib: 6 fields, ranges, one deterministic encoding)
// export async function verifyLabel(tokenBytes, trust) ->
//     { result: 'genuine' | 'not-genuine' | 'unknown-signer' | 'unreadable', claims (genuine only; with its
//       scheme the bundle's and kid the signer's), field, reason }
//     as sm_label_verify: tokens carry no kid, so every issuer key of the bundle is tried; a key that verifies
//     but was not valid at the label's issued_at is not genuine; none verifies: an unknown signer when the
//     label is dated not before the bundle was made (trust.at), else not genuine.
// Claims = { id, serial, level, model, vendor, registered ('YYYY-MM-DD'), registeredDay, issuedAt, scheme, kid }
import { Reader, encode } from './cbor.js';
import { COSE_TYPE, decodeSign1, hex, verifySign1 } from './cose.js';
import { SmError, fail } from './errors.js';
import { ROLE, findKey } from './trust.js';

export const TOKEN_MAX = 512;
export const TEXT_MAX = 1200;
export const B32_MAX = Math.floor((TOKEN_MAX * 8 + 4) / 5);
const SERIAL_MAX = 999999999;
const DAY_MAX = 2932896;
const TIME_MAX = 253402300799;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes) {
	let out = '';
	let acc = 0;
	let bits = 0;
	for (const b of bytes) {
		acc = (acc << 8) | b;
		bits += 8;
		while (bits >= 5) {
			out += ALPHABET[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1 << bits) - 1;
	}
	if (bits) out += ALPHABET[(acc << (5 - bits)) & 31];
	return out;
}

export function base32Decode(text) {
	const spare = (text.length * 5) % 8;
	if (spare >= 5) fail('invalid', 'label', `base32: length ${text.length} is not a valid base32 length`);
	const out = new Uint8Array(Math.floor((text.length * 5) / 8));
	let acc = 0;
	let bits = 0;
	let o = 0;
	for (let i = 0; i < text.length; i++) {
		const v = ALPHABET.indexOf(text[i].toUpperCase());
		if (v < 0) fail('invalid', 'label', `base32: character '${text[i]}' at offset ${i} is not base32`);
		acc = ((acc << 5) | v) & 0xffff;
		bits += 5;
		if (bits >= 8) {
			out[o++] = (acc >> (bits - 8)) & 0xff;
			bits -= 8;
		}
	}
	if (bits && (acc & ((1 << bits) - 1))) fail('invalid', 'label', 'base32: the last character has bits set past the data');
	return out;
}

const isSpace = (ch) => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';

// The host of a label URL as written ('' for a bare token): sm_label_host. Call it on text that parses.
export function labelHost(text) {
	const s = (typeof text === 'string' ? text : '').replace(/^[ \t\r\n]+/, '');
	const low = s.toLowerCase();
	const skip = low.startsWith('https://') ? 8 : low.startsWith('http://') ? 7 : 0;
	if (!skip) return '';
	const slash = s.indexOf('/', skip);
	return slash < 0 ? '' : s.slice(skip, slash);
}

// Whether a label URL's host is the registry's origin, ASCII case aside: sm_label_host_is.
export function hostIsOrigin(host, origin) {
	const fold = (x) => x.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
	return fold(host) === fold(origin);
}

export function parseLabelText(text) {
	let s = typeof text === 'string' ? text : '';
	if (s.length > TEXT_MAX) fail('invalid', 'label', `the label text is ${s.length} characters, more than ${TEXT_MAX}`);
	if (s.includes('\0')) fail('invalid', 'label', 'the label text contains a NUL byte');
	let a = 0;
	let b = s.length;
	while (a < b && isSpace(s[a])) a++;
	while (b > a && isSpace(s[b - 1])) b--;
	s = s.slice(a, b);
	if (s === '') fail('invalid', 'label', 'the label text is empty');
	const low = s.toLowerCase();
	let b32 = s;
	const skip = low.startsWith('https://') ? 8 : low.startsWith('http://') ? 7 : 0;
	if (skip) {
		const slash = s.indexOf('/', skip);
		if (slash < 0 || slash === skip) fail('invalid', 'label', `'${s.slice(0, 72)}' has no host and path`);
		if (!low.startsWith('/l/', slash)) fail('invalid', 'label', `not a label URL: the path is '${s.slice(slash, slash + 72)}', where /L/<token> belongs`);
		b32 = s.slice(slash + 3);
	} else if (s.includes('/') || s.includes(':')) {
		fail('invalid', 'label', `'${s.slice(0, 72)}' is neither a label URL (HTTPS://HOST/L/<token>) nor a bare token`);
	}
	if (b32 === '') fail('invalid', 'label', 'the label URL holds no token after /L/');
	if (b32.length > B32_MAX) fail('invalid', 'label', `the token is ${b32.length} characters, more than ${B32_MAX}`);
	try {
		return base32Decode(b32);
	} catch (e) {
		throw new SmError('invalid', 'label', `the token is not base32: ${e.message}`);
	}
}

// "YYYY-MM-DD" of a day count since 1970-01-01
export function dayString(day) {
	return new Date(day * 86400000).toISOString().slice(0, 10);
}

const dayOf = (t) => Math.floor(t / 86400);

function printable(s) {
	for (const ch of s) {
		const c = ch.codePointAt(0);
		if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return false;
	}
	return true;
}

function checkClaims(cl) {
	if (cl.serial < 1 || cl.serial > SERIAL_MAX) fail('invalid', 'serial', `label claims: serial ${cl.serial} is out of range 1..${SERIAL_MAX}`);
	if (cl.level < 1 || cl.level > 9) fail('invalid', 'level', `label claims: level ${cl.level} is out of range 1..9`);
	const m = cl.model;
	if (!m || new TextEncoder().encode(m).length > 64 || !printable(m) || m[0] === ' ' || m[m.length - 1] === ' ' || m.includes(';')) {
		fail('invalid', 'model', `label claims: model '${m}' is not a model number`);
	}
	if (!/^[A-Z0-9][A-Z0-9-]{0,15}$/.test(cl.vendor)) fail('invalid', 'vendor', `vendor code '${cl.vendor}' must be 1-16 of A-Z, 0-9 and '-', starting with a letter or digit`);
	if (dayOf(cl.issuedAt) < cl.registeredDay) fail('invalid', 'issued_at', `label claims: the label is dated before the registration date ${dayString(cl.registeredDay)}`);
}

function bounded(r, max, what) {
	const v = r.readUint(what);
	if (v > max) fail('invalid', what, `label claims: ${what} ${v} is out of range`);
	return v;
}

function textField(r, max, what) {
	try {
		return r.readText(max, what);
	} catch (e) {
		if (e instanceof SmError && e.code === 'too-big') e.code = 'invalid';
		throw e;
	}
}

export function decodeClaims(p) {
	if (p.length > TOKEN_MAX) fail('invalid', 'claims', `label claims: ${p.length} bytes, more than ${TOKEN_MAX}`);
	const r = new Reader(p, 'claims');
	const cnt = r.readArray(64, 'label claims');
	if (cnt !== 6) fail('invalid', 'claims', `label claims: ${cnt} fields, not 6`);
	const cl = {};
	cl.serial = bounded(r, SERIAL_MAX, 'serial');
	cl.level = bounded(r, 9, 'level');
	cl.model = textField(r, 64, 'model');
	cl.vendor = textField(r, 16, 'vendor');
	cl.registeredDay = bounded(r, DAY_MAX, 'registered');
	cl.issuedAt = bounded(r, TIME_MAX, 'issued_at');
	if (!r.atEnd()) fail('invalid', 'claims', `label claims: ${p.length - r.off} unexpected bytes after them`);
	checkClaims(cl);
	const again = encode([cl.serial, cl.level, cl.model, cl.vendor, cl.registeredDay, cl.issuedAt]);
	if (again.length !== p.length || again.some((x, i) => x !== p[i])) fail('invalid', 'claims', 'label claims: not in deterministic CBOR encoding');
	cl.registered = dayString(cl.registeredDay);
	cl.id = `SM-${cl.registered.slice(0, 4)}-${String(cl.serial).padStart(6, '0')}`;
	cl.scheme = '';
	cl.kid = null;
	return cl;
}

const TYPE_NAMES = { 65000: 'a registry event', 65001: 'a trust bundle', 65002: 'a status statement', 65003: 'a snapshot' };

function say(result, field, reason) {
	return { result, claims: null, field, reason };
}

// No issuer key signed it: unknown when dated in or after the second the bundle was made, else forged.
function noKeySigned(trust, cl, kidHex) {
	const at = dayString(dayOf(cl.issuedAt));
	if (cl.issuedAt >= trust.at) {
		return say('unknown-signer', 'token', `${kidHex ? `signed by key ${kidHex}, which` : 'no issuer key of'} the ${trust.scheme} trust bundle version ${trust.version} does not know` +
			`: the label is dated ${at}, not before that bundle was made (${dayString(dayOf(trust.at))}); update the trust bundle and verify again`);
	}
	if (kidHex) return say('not-genuine', 'token', `signed by key ${kidHex}, which is not an issuer key of the ${trust.scheme} trust bundle`);
	return say('not-genuine', 'token', `the signature verifies with no issuer key of the ${trust.scheme} trust bundle valid on ${at} (forged or altered)`);
}

function notThenValid(k, cl) {
	return say('not-genuine', 'token', `issuer key ${k.kid} was not valid on ${dayString(dayOf(cl.issuedAt))}, when the label says it was made`);
}

export async function verifyLabel(tok, trust) {
	if (tok.length > TOKEN_MAX) return say('unreadable', 'token', `the token is ${tok.length} bytes, more than ${TOKEN_MAX}`);
	let msg;
	let cl;
	try {
		msg = decodeSign1(tok);
	} catch (e) {
		if (!(e instanceof SmError)) throw e;
		return say('unreadable', 'token', `the token is not a signed object: ${e.message}`);
	}
	if (msg.contentType !== COSE_TYPE.LABEL) {
		return say('not-genuine', 'token', `this is not a label token but ${TYPE_NAMES[msg.contentType] || 'of an unknown kind'} (content type ${msg.contentType})`);
	}
	try {
		cl = decodeClaims(msg.payload);
	} catch (e) {
		if (!(e instanceof SmError)) throw e;
		return say('unreadable', 'token', e.message);
	}
	let signer = null;
	if (!msg.kid || msg.kid.length !== 8) {
		for (const k of trust.keys) {
			if (k.role !== ROLE.ISSUER || !(await verifySign1(msg, k.publicKey))) continue;
			if (!findKey(trust, ROLE.ISSUER, k.kid, cl.issuedAt)) return notThenValid(k, cl);
			signer = k;
			break;
		}
		if (!signer) return noKeySigned(trust, cl, null);
	} else {
		const kidHex = hex(msg.kid);
		signer = findKey(trust, ROLE.ISSUER, kidHex, cl.issuedAt);
		if (!signer) {
			const any = trust.keys.find((k) => k.role === ROLE.ISSUER && k.kid === kidHex);
			return any ? notThenValid(any, cl) : noKeySigned(trust, cl, kidHex);
		}
		if (!(await verifySign1(msg, signer.publicKey))) return say('not-genuine', 'token', `the signature does not verify with issuer key ${kidHex} (forged or altered)`);
	}
	cl.scheme = trust.scheme;
	cl.kid = signer.kid;
	return { result: 'genuine', claims: cl, field: '', reason: '' };
}
