// SPDX-License-Identifier: Apache-2.0
// Trust bundles, chains of them, and following a chain from a pinned anchor (lib/trust.c, lib/anchor.c).
//
// export const ROLE = { ROOT: 0, ISSUER: 1, STATUS: 2, LOG: 3 }
// export async function rootFingerprint(rawRootKey) -> 64 lower-case hex digits (SHA-256 of the raw key), what
//     `starmark init` prints and `--trust FINGERPRINT` takes.
// export function parseFingerprint(text) -> hex or null ("HEX64" or "sha256:HEX64", any case)
// export async function decodeBundle(signedBytes) -> Trust, nothing verified (lib's sm_trust_peek)
// export async function verifyBundle(signedBytes, prev?) -> Trust (sm_trust_verify: standing alone, or one link)
// export async function decodeChain(bytes) -> [{bytes, version}] (sm_trust_chain_decode: a CBOR array of signed
//     bundles with consecutive versions, or one signed bundle; caps 8 MiB, 4096 bundles, 64 KiB a bundle)
// export async function followChain(anchor, chainBytes) -> Trust (sm_trust_follow)
//     anchor: { fingerprint: 'HEX' } or { bundle: Uint8Array } (a signed bundle or a chain of them, the user's own);
//     chainBytes: what GET /v1/trust/chain?from=N serves (or null / empty: nothing offered).
//     Link by link: each next version signed by the root before (and by its own root when it changes it), no
//     gap, no second bundle of a version held (equivocation), nothing of another registry. A fingerprint starts
//     at the first offered bundle naming that root that stands alone.
// export function findKey(trust, role, kidHex, at) -> key or null (valid at `at`, both ends inclusive)
// export function currentKey(trust, role) -> key or null
// Trust = { version, at, root: Uint8Array, rootFingerprint, scheme, levels, origin, hasRootProof, rootProof,
//     keys: [{ role, kid (hex), publicKey: Uint8Array, notBefore, notAfter (0: current) }], bytes (signed) }
// Errors: SmError 'invalid' / 'too-big' (not a bundle or chain), 'verify' (one that does not follow).
import { Reader, encode } from './cbor.js';
import { COSE_TYPE, decodeSign1, hex, sha256, verifyRaw, verifySign1 } from './cose.js';
import { SmError, fail } from './errors.js';

export const ROLE = Object.freeze({ ROOT: 0, ISSUER: 1, STATUS: 2, LOG: 3 });
export const MAX_SIZE = 64 * 1024;
export const MAX_KEYS = 256;
export const CHAIN_MAX = 4096;
export const CHAIN_MAX_SIZE = 8 * 1024 * 1024;

export async function rootFingerprint(rawRootKey) {
	return hex(await sha256(rawRootKey));
}

export function parseFingerprint(text) {
	let s = String(text || '');
	if (s.startsWith('sha256:')) s = s.slice(7);
	return /^[0-9a-fA-F]{64}$/.test(s) ? s.toLowerCase() : null;
}

function readKey(r, i) {
	const four = r.readArray(4, 'trust key');
	if (four !== 4) fail('invalid', 'keys', `a trust bundle key has ${four} fields, not 4`);
	const role = r.readUint('role');
	const pub = r.readBytes(32, 'key');
	const notBefore = r.readInt('not_before');
	const notAfter = r.readInt('not_after');
	if (role < ROLE.ISSUER || role > ROLE.LOG) fail('invalid', 'keys', `trust bundle key ${i} has role ${role}, not issuer (1), status (2) or log (3)`);
	if (pub.length !== 32) fail('invalid', 'keys', `trust bundle key ${i} is ${pub.length} bytes, not 32`);
	return { role, publicKey: pub, notBefore, notAfter, kid: '' };
}

// The payload of a bundle, read as lib reads it: fields 1..7 (8) in order, nothing else.
export function decodeTrustPayload(p) {
	const r = new Reader(p, 'trust');
	const t = { keys: [], hasRootProof: false, rootProof: null };
	const cnt = r.readMap(64, 'trust bundle');
	if (cnt !== 7 && cnt !== 8) fail('invalid', 'trust', `a trust bundle has ${cnt} fields, not 7 (or 8 with a root proof)`);
	for (let want = 1; want <= cnt; want++) {
		const k = r.readUint('key');
		if (k !== want) fail('invalid', 'trust', `trust bundle field ${k} where ${want} belongs`);
		switch (k) {
		case 1: t.version = r.readUint('version'); break;
		case 2: t.at = r.readInt('at'); break;
		case 3:
			t.root = r.readBytes(32, 'root');
			if (t.root.length !== 32) fail('invalid', 'root', `the root key is ${t.root.length} bytes, not 32`);
			break;
		case 4: {
			const n = r.readArray(MAX_KEYS, 'keys');
			for (let i = 0; i < n; i++) t.keys.push(readKey(r, i));
			break;
		}
		case 5: t.scheme = r.readText(32, 'scheme'); break;
		case 6:
			t.levels = r.readUint('levels');
			if (t.levels < 1 || t.levels > 9) fail('invalid', 'levels', `${t.levels} levels is out of range`);
			break;
		case 7: t.origin = r.readText(255, 'origin'); break;
		case 8:
			t.rootProof = r.readBytes(64, 'root_proof');
			if (t.rootProof.length !== 64) fail('invalid', 'root_proof', `the root proof is ${t.rootProof.length} bytes, not 64`);
			t.hasRootProof = true;
			break;
		default:
		}
	}
	if (!r.atEnd()) fail('invalid', 'trust', 'unexpected bytes after the trust bundle');
	return t;
}

// The payload as lib encodes it (sm_trust_encode_ex): what the new root's proof signs, without field 8.
function encodeTrustPayload(t, withProof) {
	const m = new Map([[1, t.version], [2, t.at], [3, t.root],
		[4, t.keys.map((k) => [k.role, k.publicKey, k.notBefore, k.notAfter])], [5, t.scheme], [6, t.levels], [7, t.origin]]);
	if (withProof && t.hasRootProof) m.set(8, t.rootProof);
	return encode(m);
}

export async function decodeBundle(bytes) {
	return (await decodeSigned(bytes)).t;
}

async function decodeSigned(bytes) {
	if (bytes.length > MAX_SIZE) fail('too-big', 'trust', `a trust bundle of ${bytes.length} bytes is larger than ${MAX_SIZE}`);
	const msg = decodeSign1(bytes);
	if (msg.contentType !== COSE_TYPE.TRUST) fail('invalid', 'trust', `this is not a trust bundle (content type ${msg.contentType})`);
	const t = decodeTrustPayload(msg.payload);
	for (const k of t.keys) k.kid = hex((await sha256(k.publicKey)).subarray(0, 8));
	t.rootFingerprint = await rootFingerprint(t.root);
	t.bytes = bytes;
	return { msg, t };
}

async function rootProofOk(t) {
	return t.hasRootProof && verifyRaw(t.root, t.rootProof, encodeTrustPayload(t, false));
}

function equalBytes(a, b) {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

export async function verifyBundle(bytes, prev) {
	const { msg, t } = await decodeSigned(bytes);
	if (!prev) {
		const ok = t.hasRootProof ? await rootProofOk(t) : await verifySign1(msg, t.root);
		if (!ok) fail('verify', 'trust', `trust bundle version ${t.version} is not signed by the root key it names (${t.rootFingerprint.slice(0, 16)}...)`);
		return t;
	}
	if (!(await verifySign1(msg, prev.root))) fail('verify', 'trust', `trust bundle version ${t.version} is not signed by the root key of version ${prev.version}`);
	if (t.version <= prev.version) fail('verify', 'trust', `trust bundle version ${t.version} does not follow version ${prev.version} (rollback?)`);
	if (t.origin !== prev.origin || t.scheme !== prev.scheme) fail('verify', 'trust', `trust bundle version ${t.version} is of another registry (${t.origin}, not ${prev.origin})`);
	if (!equalBytes(prev.root, t.root)) {
		if (!(await rootProofOk(t))) fail('verify', 'trust', `trust bundle version ${t.version} changes the root key without a valid proof by the new root`);
	} else if (t.hasRootProof) {
		fail('verify', 'trust', `trust bundle version ${t.version} carries a root proof but keeps its root`);
	}
	return t;
}

async function chainAdd(chain, bytes) {
	const total = chain.reduce((s, l) => s + l.bytes.length, 0);
	if (chain.length >= CHAIN_MAX || total + bytes.length > CHAIN_MAX_SIZE) {
		fail('too-big', 'trust', `a trust chain holds at most ${CHAIN_MAX} bundles and ${CHAIN_MAX_SIZE} bytes`);
	}
	const t = await decodeBundle(bytes);
	if (chain.length && t.version !== chain[chain.length - 1].version + 1) {
		fail('invalid', 'trust', `trust bundle version ${t.version} does not follow version ${chain[chain.length - 1].version} in the chain`);
	}
	chain.push({ bytes: Uint8Array.from(bytes), version: t.version });
}

async function decodeArray(p) {
	const chain = [];
	const r = new Reader(p, 'trust');
	const cnt = r.readArray(CHAIN_MAX, 'trust chain');
	if (cnt === 0) fail('invalid', 'trust', 'the trust chain is empty');
	for (let i = 0; i < cnt; i++) {
		const b = r.readBytes(MAX_SIZE, 'trust chain bundle');
		try {
			await chainAdd(chain, b);
		} catch (e) {
			if (e instanceof SmError) e.message = `bundle ${i + 1} of the chain: ${e.message}`;
			throw e;
		}
	}
	if (!r.atEnd()) fail('invalid', 'trust', 'unexpected bytes after the trust chain');
	return chain;
}

export async function decodeChain(p) {
	if (p.length > CHAIN_MAX_SIZE) fail('too-big', 'trust', `a trust chain of ${p.length} bytes is larger than ${CHAIN_MAX_SIZE}`);
	if (p.length && p[0] === 0xd2) {
		const chain = [];
		await chainAdd(chain, p);
		return chain;
	}
	try {
		return await decodeArray(p);
	} catch (e) {
		if (!(e instanceof SmError)) throw e;
		// an untagged COSE_Sign1 is an array too: when the bytes are one, what is wrong with it is the news
		let isCose = false;
		try {
			decodeSign1(p);
			isCose = true;
		} catch { /* not one */ }
		if (!isCose) throw new SmError(e.code, 'trust', `neither a trust bundle nor a chain of them: ${e.message}`);
		const chain = [];
		await chainAdd(chain, p);
		return chain;
	}
}

// The user's own bundles: the first stands alone, each next is a link from the one before.
async function anchorOf(anchor) {
	if (anchor && anchor.fingerprint !== undefined) {
		const fp = parseFingerprint(anchor.fingerprint);
		if (!fp) fail('invalid', 'trust', 'the trust anchor is neither a trust bundle nor a root key fingerprint (64 hex digits)');
		return { fingerprintOnly: true, fingerprint: fp, chain: [], newest: null };
	}
	if (!anchor || !(anchor.bundle instanceof Uint8Array)) fail('invalid', 'trust', 'the trust anchor is empty: give a trust bundle or a root key fingerprint');
	const chain = await decodeChain(anchor.bundle);
	let t = null;
	for (const l of chain) t = await verifyBundle(l.bytes, t);
	return { fingerprintOnly: false, fingerprint: t.rootFingerprint, chain, newest: t };
}

export async function followChain(anchor, chainBytes) {
	const a = await anchorOf(anchor);
	const chain = chainBytes && chainBytes.length ? await decodeChain(chainBytes) : [];
	let started = !a.fingerprintOnly;
	let out = a.newest;
	const held = (upto, version) => a.chain.find((l) => l.version === version) ||
		chain.slice(0, upto).find((l) => l.version === version);
	for (let i = 0; i < chain.length; i++) {
		const l = chain[i];
		if (!started) {
			let t;
			try {
				t = await decodeBundle(l.bytes);
			} catch {
				continue;
			}
			if (t.rootFingerprint !== a.fingerprint) continue;
			out = await verifyBundle(l.bytes, null);
			started = true;
			continue;
		}
		if (l.version <= out.version) {
			const h = held(i, l.version);
			if (h && !equalBytes(h.bytes, l.bytes)) fail('verify', 'trust', `two different trust bundles claim version ${l.version}: refused (equivocation)`);
			continue;
		}
		if (l.version !== out.version + 1) fail('verify', 'trust', `the trust chain jumps from version ${out.version} to ${l.version}`);
		try {
			out = await verifyBundle(l.bytes, out);
		} catch (e) {
			if (!(e instanceof SmError)) throw e;
			throw new SmError('verify', 'trust', `the trust chain does not follow from ${a.fingerprintOnly ? 'the provisioned root key' : 'the provisioned trust bundle'}: ${e.message}`);
		}
	}
	if (!started) fail('verify', 'trust', `no trust bundle offered names the provisioned root key ${a.fingerprint.slice(0, 16)}...`);
	return out;
}

export function findKey(trust, role, kidHex, at) {
	return trust.keys.find((k) => k.role === role && k.kid === kidHex && at >= k.notBefore &&
		(k.notAfter === 0 || at <= k.notAfter)) || null;
}

export function currentKey(trust, role) {
	return trust.keys.find((k) => k.role === role && k.notAfter === 0) || null;
}
