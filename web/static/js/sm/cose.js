// SPDX-License-Identifier: Apache-2.0
// COSE_Sign1 (RFC 9052) with EdDSA: strict, capped decoding as lib/cose.c, and verification with WebCrypto.
//
// export const COSE_TYPE = { EVENT: 65000, TRUST: 65001, STATUS: 65002, SNAPSHOT: 65003, LABEL: 65004, POLICY: 65005 }
// export const MAX_SIZE, MAX_DEPTH, MAX_ITEMS
// export function decodeSign1(bytes) -> { protectedBytes, protected: Map, unprotected: Map, payload, signature,
//         alg, kid, contentType }
//     Tagged (18) or not; an array of 4; protected a non-empty bstr holding a map with integer labels 1 (alg,
//     must be -8), 3 (content type, unsigned) and 4 (kid, 1..64 bytes) only, each at most once; unprotected a
//     map holding at most the kid; the kid in one header, not both; payload a bstr; signature 64 bytes;
//     definite lengths; nothing after it; at most 16 MiB, 16 levels and 64 items. kid: Uint8Array or null;
//     contentType: a number, 0 when absent. SmError 'invalid' / 'too-big' naming the part.
// export async function verifySign1(msg, rawPublicKey) -> boolean
//     Ed25519 over the Sig_structure ["Signature1", protected as received, h'', payload]; false for a bad
//     signature or a key WebCrypto refuses.
// export function sigStructure(protectedBytes, payload) -> Uint8Array (what is signed)
// export async function sha256(bytes) -> Uint8Array;  export function hex(bytes) -> string
import { decode, encode, Tagged } from './cbor.js';
import { fail } from './errors.js';

export const COSE_TYPE = Object.freeze({ EVENT: 65000, TRUST: 65001, STATUS: 65002, SNAPSHOT: 65003, LABEL: 65004, POLICY: 65005 });
export const MAX_SIZE = 16 * 1024 * 1024;
export const MAX_DEPTH = 16;
export const MAX_ITEMS = 64;
const KID_MAX = 64;

function takeKid(h, v, where) {
	if (h.kid) fail('invalid', where, `${where} header: a second kid (4); the kid belongs in one header only`);
	if (!(v instanceof Uint8Array) || v.length < 1 || v.length > KID_MAX) {
		fail('invalid', where, `${where} header: kid (4) of ${v instanceof Uint8Array ? v.length : 'no'} bytes (expected 1 to ${KID_MAX})`);
	}
	h.kid = v;
}

export function decodeSign1(bytes) {
	if (!(bytes instanceof Uint8Array)) fail('invalid', 'cose', 'COSE_Sign1: expected bytes');
	if (bytes.length > MAX_SIZE) fail('too-big', 'cose', `COSE_Sign1 of ${bytes.length} bytes is over the ${MAX_SIZE} byte limit`);
	if (bytes.length === 0) fail('invalid', 'cose', 'COSE_Sign1 is empty');
	let body = bytes;
	if (bytes[0] >> 5 === 6) {
		// the tag read by hand, as lib does
		const ai = bytes[0] & 0x1f;
		if (ai >= 28) fail('invalid', 'cose', 'cose: malformed CBOR item at byte 0 (only definite lengths are accepted)');
		const len = ai >= 24 ? 1 << (ai - 24) : 0;
		if (len > bytes.length - 1) fail('invalid', 'cose', 'cose: CBOR cut short at byte 0');
		let tag = ai < 24 ? ai : 0;
		for (let i = 0; i < len; i++) tag = tag * 256 + bytes[1 + i];
		if (tag !== 18) fail('invalid', 'cose', `CBOR tag ${tag}, expected 18 (COSE_Sign1)`);
		body = bytes.subarray(1 + len);
	}
	const arr = decode(body, { maxSize: MAX_SIZE, maxDepth: MAX_DEPTH, maxItems: MAX_ITEMS, field: 'cose' });
	if (!Array.isArray(arr) || arr.length !== 4) fail('invalid', 'cose', 'COSE_Sign1 must be an array of 4 items');
	const [prot, unprot, payload, signature] = arr;
	if (!(prot instanceof Uint8Array) || prot.length === 0) fail('invalid', 'protected', 'protected header must be a non-empty byte string');
	const pmap = decode(prot, { maxSize: MAX_SIZE, maxDepth: MAX_DEPTH, maxItems: MAX_ITEMS, field: 'protected' });
	if (!(pmap instanceof Map)) fail('invalid', 'protected', 'protected header must hold a CBOR map');
	const h = { alg: null, type: 0, kid: null };
	let i = 0;
	for (const [label, v] of pmap) {
		if (typeof label !== 'number') fail('invalid', 'protected', `protected header: label ${i} is not an integer`);
		if (label === 1) {
			if (v !== -8) fail('invalid', 'protected', `protected header: alg is ${typeof v === 'number' ? v : 'not an integer'}, expected -8 (EdDSA)`);
			h.alg = v;
		} else if (label === 3) {
			if (typeof v !== 'number' || v < 0) fail('invalid', 'protected', 'protected header: content type (3) must be an unsigned integer');
			h.type = v;
		} else if (label === 4) {
			takeKid(h, v, 'protected');
		} else {
			fail('invalid', 'protected', `protected header: unknown label ${label}`);
		}
		i++;
	}
	if (h.alg === null) fail('invalid', 'protected', 'protected header has no alg (1)');
	if (!(unprot instanceof Map)) fail('invalid', 'unprotected', 'unprotected header must be a CBOR map');
	i = 0;
	for (const [label, v] of unprot) {
		if (typeof label !== 'number') fail('invalid', 'unprotected', `unprotected header: label ${i} is not an integer`);
		if (label !== 4) fail('invalid', 'unprotected', `unprotected header: label ${label} not allowed (only kid, 4)`);
		takeKid(h, v, 'unprotected');
		i++;
	}
	if (!(payload instanceof Uint8Array)) fail('invalid', 'payload', 'payload must be a byte string (detached payloads are not supported)');
	if (!(signature instanceof Uint8Array) || signature.length !== 64) {
		fail('invalid', 'signature', `signature must be a byte string of 64 bytes (Ed25519)${signature instanceof Uint8Array ? ', got another length' : ''}`);
	}
	return {
		protectedBytes: prot, protected: pmap, unprotected: unprot, payload, signature,
		alg: h.alg, kid: h.kid, contentType: h.type,
	};
}

export function sigStructure(protectedBytes, payload) {
	return encode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

export async function verifySign1(msg, rawPublicKey) {
	let key;
	try {
		key = await crypto.subtle.importKey('raw', rawPublicKey, { name: 'Ed25519' }, false, ['verify']);
	} catch {
		return false;
	}
	return verifyRaw(key, msg.signature, sigStructure(msg.protectedBytes, msg.payload));
}

// An Ed25519 signature over `data` with an imported key or raw public key bytes.
export async function verifyRaw(key, signature, data) {
	try {
		if (key instanceof Uint8Array) key = await crypto.subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify']);
		return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, data);
	} catch {
		return false;
	}
}

export async function sha256(bytes) {
	return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export function hex(bytes) {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export { Tagged };
