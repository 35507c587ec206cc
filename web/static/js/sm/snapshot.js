// SPDX-License-Identifier: Apache-2.0
// Snapshots: every certificate's state signed by the status key (lib/status.c), verified in the browser.
//
// export const SNAPSHOT_MAX (1 GiB, lib's cap)
// export async function readSnapshot(bytes, trust) -> Snapshot (sm_snapshot_verify: content type, a status key of
//     the bundle valid at produced_at, the signature, the bundle's scheme; a retired status key's answers hold
//     at most until it was retired: next_update and expires are capped at its not_after). No freshness.
// export async function verifySnapshot(bytes, trust, { now, floorVersion }) -> Snapshot
//     readSnapshot, then refused past `expires` at `now` (freeze) and below `floorVersion` (rollback), as sync
//     accepts one and a cache keeps its floor. SmError 'verify' / 'invalid' / 'too-big'.
// export function checkFloor(snapshot, floorVersion) — SmError 'verify' (field 'cache') below the floor
// Snapshot = { version, producedAt, nextUpdate, expires, logSize, logRoot, scheme, count, certs: [Cert],
//     checkpoint: { size, root }, byId: Map(id -> Cert), byModel(vendor, model) -> [Cert] }
// Cert = { id, scheme, level, status: 'active'|'suspended'|'revoked' (stored), vendor, vendorName, product, models,
//     firmware, revoked: [versions], registered, expires, supportEnd (days since 1970-01-01, or null), category|null }
import { Reader } from './cbor.js';
import { COSE_TYPE, decodeSign1, hex, verifySign1 } from './cose.js';
import { fail } from './errors.js';
import { ROLE, findKey } from './trust.js';

export const SNAPSHOT_MAX = 1024 * 1024 * 1024;
const STATUS = ['active', 'suspended', 'revoked'];

function strv(r, maxItems, maxLen, what) {
	const n = r.readArray(maxItems, what);
	const v = [];
	for (let i = 0; i < n; i++) v.push(r.readText(maxLen, what));
	return v;
}

function optDay(r, what) {
	const save = r.off;
	const it = r.next();
	if (it.type === 'null') return null;
	if (it.type !== 'uint' || it.value > 3000000) {
		r.off = save;
		fail('invalid', what, `${what}: not a day number`);
	}
	return it.value;
}

// The facts of one certificate, as statements and snapshots carry them.
export function readFacts(r) {
	const n = r.readArray(13, 'facts');
	if (n !== 13) fail('invalid', 'facts', `certificate facts have ${n} fields, not 13`);
	const c = {};
	c.id = r.readText(31, 'id');
	c.level = r.readUint('level');
	if (c.level < 1 || c.level > 9) fail('invalid', 'level', `level ${c.level} out of range`);
	const st = r.readUint('status');
	if (st > 2) fail('invalid', 'status', `status ${st} out of range`);
	c.status = STATUS[st];
	c.vendor = r.readText(16, 'vendor');
	c.vendorName = r.readText(200, 'vendor_name');
	c.product = r.readText(200, 'product');
	c.models = strv(r, 64, 64, 'models');
	c.firmware = r.readText(4096, 'firmware');
	c.revoked = strv(r, 256, 64, 'revoked');
	c.registered = r.readUint('registered');
	if (c.registered > 3000000) fail('invalid', 'registered', 'registration day out of range');
	c.expires = optDay(r, 'expires');
	c.supportEnd = optDay(r, 'support_end');
	c.category = r.readNullOr(() => r.readText(32, 'category'));
	return c;
}

export async function readSnapshot(bytes, trust) {
	if (bytes.length > SNAPSHOT_MAX) fail('too-big', 'snapshot', `a snapshot of ${bytes.length} bytes is too large`);
	const msg = decodeSign1(bytes);
	if (msg.contentType !== COSE_TYPE.SNAPSHOT) fail('verify', 'snapshot', 'this is not a snapshot');
	const r = new Reader(msg.payload, 'snapshot');
	const s = {};
	const cnt = r.readMap(8, 'snapshot');
	if (cnt !== 8) fail('invalid', 'snapshot', `a snapshot has ${cnt} fields, not 8`);
	for (let want = 1; want <= 7; want++) {
		const k = r.readUint('key');
		if (k !== want) fail('invalid', 'snapshot', `snapshot field ${k} where ${want} belongs`);
		switch (k) {
		case 1: s.version = r.readUint('version'); break;
		case 2: s.producedAt = r.readInt('produced_at'); break;
		case 3: s.nextUpdate = r.readInt('next_update'); break;
		case 4: s.expires = r.readInt('expires'); break;
		case 5: s.logSize = r.readUint('log_size'); break;
		case 6:
			s.logRoot = r.readBytes(32, 'log_root');
			if (s.logRoot.length !== 32) fail('invalid', 'log_root', `the log root is ${s.logRoot.length} bytes`);
			break;
		default: s.scheme = r.readText(32, 'scheme');
		}
	}
	const k8 = r.readUint('key');
	if (k8 !== 8) fail('invalid', 'snapshot', `snapshot field ${k8} where 8 belongs`);
	const n = r.readArray(Number.MAX_SAFE_INTEGER, 'certificates');
	// the signature first: nothing of an unverified snapshot reaches the caller
	const key = msg.kid && msg.kid.length === 8 ? findKey(trust, ROLE.STATUS, hex(msg.kid), s.producedAt) : null;
	if (!key) fail('verify', 'snapshot', 'snapshot is signed by no status key of the trust bundle valid then');
	if (!(await verifySign1(msg, key.publicKey))) fail('verify', 'snapshot', 'the signature of the snapshot does not verify');
	if (key.notAfter) {
		s.nextUpdate = Math.min(s.nextUpdate, key.notAfter);
		s.expires = Math.min(s.expires, key.notAfter);
	}
	if (s.scheme !== trust.scheme) fail('verify', 'snapshot', `the snapshot is of scheme ${s.scheme}, the trust bundle of ${trust.scheme}`);
	s.certs = [];
	for (let i = 0; i < n; i++) {
		const c = readFacts(r);
		c.scheme = s.scheme;
		s.certs.push(c);
	}
	if (!r.atEnd()) fail('invalid', 'snapshot', "unexpected bytes after the snapshot's certificates");
	s.count = s.certs.length;
	s.checkpoint = { size: s.logSize, root: s.logRoot };
	s.byId = new Map(s.certs.map((c) => [c.id, c]));
	const index = new Map();
	for (const c of s.certs) {
		for (const m of c.models) {
			const key2 = `${c.vendor}\n${m}`;
			if (!index.has(key2)) index.set(key2, []);
			if (!index.get(key2).includes(c)) index.get(key2).push(c);
		}
	}
	s.byModel = (vendor, model) => index.get(`${vendor}\n${model}`) || [];
	return s;
}

export function checkFloor(s, floorVersion) {
	if (floorVersion && s.version < floorVersion) {
		fail('verify', 'cache', `the cached snapshot is version ${s.version}, older than version ${floorVersion} kept: refused (rollback)`);
	}
}

export async function verifySnapshot(bytes, trust, { now, floorVersion = 0 } = {}) {
	const s = await readSnapshot(bytes, trust);
	if (now > s.expires) {
		fail('verify', 'snapshot', `snapshot version ${s.version} expired at ${new Date(s.expires * 1000).toISOString()}: refused (the registry data is frozen or the clock is wrong)`);
	}
	checkFloor(s, floorVersion);
	return s;
}
