// SPDX-License-Identifier: Apache-2.0
// Verdicts in the browser: a scanned label (lib/label_verdict.c) and a device under a policy (lib/verdict.c),
// from a snapshot verified here. Reason codes and verdict names are lib's; the messages are English words.
//
// export const DEFAULT_POLICY
// export function policyOf(doc) -> policy (INTERFACE's Policy document; missing fields as lib's default policy)
// export function certStatus(cert, now) -> 'active' | 'suspended' | 'revoked' | 'expired'
// export function isStale(policy, nextUpdate, now) -> boolean (sm_policy_stale)
// export async function judgeLabel(text, { trust, newest, snapshot, floorVersion }, now) -> LabelResult
//     sm_label_judge with the snapshot as the status source. trust: a Trust followed from the user's anchor;
//     newest: that bundle is the registry's newest (an unknown signer is then not genuine); snapshot: its bytes
//     (verified here; one that does not verify, or is below floorVersion, leaves the status unknown), a Snapshot
//     from readSnapshot, or null (nothing to ask: genuine at best, status unknown).
// LabelResult = { verdict: 'genuine-in-force'|'not-genuine'|'claims-differ'|'not-in-force'|'unknown-signer'|
//     'status-unknown'|'unreadable', genuine, claims (genuine or claims-differ, else null), status (the record's,
//     or null), inForce (true | false for not-in-force | null), pastNextUpdate, foreignHost (genuine, but the
//     URL's host is not the registry's origin), host (as written, '' for a bare token), nextUpdate (0: none),
//     field, reason, certificate (the record, or null), source }
// export async function judgeLabelOffline(text, { anchor, chain, snapshot, floorVersion, newest }, now)
//     -> LabelResult, the trust first followed from the anchor through the chain (trust.js followChain; a chain
//     that does not follow throws its SmError)
// export function checkDevice({ vendor, model, firmware, category, level }, policy, snapshot, now) -> Verdict
//     the gateway's offline answer from a verified Snapshot: sm_verdict_eval over the snapshot's certificates of
//     that vendor and model, or 'snapshot_expired' past its expiry. A request lib refuses (vendor, model,
//     firmware, category, level) throws SmError 'invalid' naming the field.
// export async function checkDeviceOffline(device, policy, { anchor, chain, snapshot, floorVersion }, now) -> Verdict
//     as `check --offline`: a chain that does not follow, no snapshot, one that does not verify or a rollback
//     answer 'no_data' under the policy's unknown rule.
// Verdict = { verdict: 'allow'|'warn'|'deny'|'unknown', reasons: [{ code, message }], requiredLevel,
//     certificate: Cert | null }
// policy may be a policy document or null (lib's default: level 1, 72 h grace, unknown fails closed).
import { SmError, fail } from './errors.js';
import { dayString, hostIsOrigin, labelHost, parseLabelText, verifyLabel } from './label.js';
import { checkFloor, readSnapshot } from './snapshot.js';
import { followChain } from './trust.js';
import { compareVersions, covers, parseFwSpec, validateVersion } from './version.js';

export const DEFAULT_POLICY = Object.freeze({
	name: 'default', default_level: 1, levels: {}, offline_grace_hours: 72, unknown: 'deny',
	support_warn_days: 180, deny_after_support_end: true,
});

export function policyOf(doc) {
	const p = { ...DEFAULT_POLICY, ...(doc || {}) };
	p.levels = { ...(p.levels || {}) };
	for (const [k, v] of Object.entries({ default_level: p.default_level, ...Object.fromEntries(Object.entries(p.levels).map(([c, l]) => [`levels.${c}`, l])) })) {
		if (!Number.isInteger(v) || v < 1 || v > 9) fail('invalid', k, `policy: ${k} must be a level 1..9`);
	}
	if (!Number.isInteger(p.offline_grace_hours) || p.offline_grace_hours < 0 || p.offline_grace_hours > 8760) fail('invalid', 'offline_grace_hours', 'policy: offline_grace_hours must be 0..8760');
	if (p.unknown !== 'deny' && p.unknown !== 'allow') fail('invalid', 'unknown', 'policy: unknown must be "deny" or "allow"');
	return p;
}

const levelFor = (p, category) => (category && Object.hasOwn(p.levels, category) ? p.levels[category] : p.default_level);
const today = (now) => Math.floor(now / 86400);

export function certStatus(c, now) {
	if (c.status === 'revoked' || c.status === 'suspended') return c.status;
	return c.expires !== null && today(now) > c.expires ? 'expired' : 'active';
}

export function isStale(p, nextUpdate, now) {
	return nextUpdate !== 0 && now - nextUpdate > p.offline_grace_hours * 3600;
}

// ---- labels ----

function matchClaims(cl, c) {
	if (cl.id !== c.id) return ['id', `the label is of certificate ${cl.id}, the record is ${c.id}`];
	if (cl.scheme !== c.scheme) return ['scheme', `the label is of scheme '${cl.scheme}', certificate ${c.id} of scheme ${c.scheme}`];
	if (cl.vendor !== c.vendor) return ['vendor', `the label names vendor ${cl.vendor}, certificate ${c.id} vendor ${c.vendor}`];
	if (!c.models.includes(cl.model)) return ['model', `the label names model '${cl.model}', which is not a model of certificate ${c.id}`];
	if (cl.level !== c.level) return ['level', `the label says level ${cl.level}, certificate ${c.id} is level ${c.level}`];
	if (cl.registeredDay !== c.registered) return ['registered', `the label says registered ${cl.registered}, certificate ${c.id} was registered ${dayString(c.registered)}`];
	return null;
}

function result() {
	return { verdict: null, genuine: false, claims: null, status: null, inForce: null, pastNextUpdate: false,
		foreignHost: false, host: '', nextUpdate: 0, field: '', reason: '', certificate: null, source: '' };
}

export async function judgeLabel(text, { trust, newest = false, snapshot = null, floorVersion = 0 } = {}, now) {
	const res = result();
	const set = (verdict, field, reason) => Object.assign(res, { verdict, field: field || '', reason });
	let tok;
	try {
		tok = parseLabelText(text);
	} catch (e) {
		if (!(e instanceof SmError)) throw e;
		return set('unreadable', e.field, e.message);
	}
	res.host = labelHost(text);
	const v = await verifyLabel(tok, trust);
	if (v.result === 'unreadable') return set('unreadable', v.field, v.reason);
	if (v.result === 'unknown-signer' && newest) {
		return set('not-genuine', v.field, `no issuer key of the registry's newest trust bundle (${trust.scheme} version ${trust.version}) signed it: forged, altered, or another registry's`);
	}
	if (v.result !== 'genuine') return set(v.result, v.field, v.reason);
	res.genuine = true;
	// a genuine token under another host than the registry's origin: the verdict stands, the link is not the registry's
	res.foreignHost = res.host !== '' && !hostIsOrigin(res.host, trust.origin);
	res.claims = v.claims;
	const cl = v.claims;
	if (!snapshot) return set('status-unknown', 'status', "the label is genuine; its certificate's status was not checked: nothing to ask");
	let snap = snapshot;
	res.source = 'the synced snapshot';
	try {
		if (snapshot instanceof Uint8Array) snap = await readSnapshot(snapshot, trust);
		checkFloor(snap, floorVersion);
	} catch (e) {
		if (!(e instanceof SmError)) throw e;
		return set('status-unknown', e.field, `the label is genuine, but its status is unknown: ${e.message}`);
	}
	res.source = `the synced snapshot version ${snap.version}`;
	const c = snap.byId.get(cl.id) || null;
	res.certificate = c;
	res.nextUpdate = snap.nextUpdate;
	if (!c) return set('status-unknown', 'id', `${res.source} has no record of certificate ${cl.id}: its status is unknown`);
	const differ = matchClaims(cl, c);
	if (differ) return set('claims-differ', differ[0], `the label's claims differ from the record in ${res.source}: ${differ[1]}`);
	res.status = certStatus(c, now);
	if (snap.expires && now > snap.expires) return set('status-unknown', 'status', `the status data (${res.source}) expired: get fresh data (sync)`);
	if (isStale(DEFAULT_POLICY, snap.nextUpdate, now)) {
		return set('status-unknown', 'status', `the status data (${res.source}) is past its next update by more than the offline grace of 72 hours: get fresh data (sync)`);
	}
	res.pastNextUpdate = snap.nextUpdate !== 0 && now > snap.nextUpdate;
	if (res.status !== 'active') {
		res.inForce = false;
		return set('not-in-force', 'status', `the label is genuine, but certificate ${cl.id} is ${res.status} (${res.source}): it no longer certifies the product`);
	}
	res.inForce = true;
	return set('genuine-in-force', '', '');
}

export async function judgeLabelOffline(text, { anchor, chain = null, snapshot = null, floorVersion = 0, newest = false } = {}, now) {
	const trust = await followChain(anchor, chain);
	return judgeLabel(text, { trust, newest, snapshot, floorVersion }, now);
}

// ---- devices ----

function validateRequest(q) {
	if (typeof q.vendor !== 'string' || !/^[A-Z0-9][A-Z0-9-]{0,15}$/.test(q.vendor)) fail('invalid', 'vendor', `vendor code '${q.vendor}' must be 1-16 of A-Z, 0-9 and '-', starting with a letter or digit`);
	const m = q.model;
	if (typeof m !== 'string' || m === '' || new TextEncoder().encode(m).length > 64 || /[\u0000-\u001f\u007f-\u009f;]/.test(m) || m[0] === ' ' || m[m.length - 1] === ' ') {
		fail('invalid', 'model', `model '${m}' is not a model number`);
	}
	validateVersion(q.firmware);
	if (q.category != null && !/^[a-z0-9][a-z0-9-]{0,31}$/.test(q.category)) fail('invalid', 'category', `category '${q.category}' is not a category`);
	if (q.level != null && (!Number.isInteger(q.level) || q.level < 0 || q.level > 9)) fail('invalid', 'level', 'level must be 1..9');
}

// The level the policy demands of certificate c (null: none found) for request q, and which demanded it.
function requiredLevel(q, p, c) {
	const cat = c ? c.category : null;
	let level = levelFor(p, cat);
	let why = cat ? `the policy requires ${level} for category ${cat} (the certificate's)` : `the policy requires ${level} (its default level)`;
	if (q.category && levelFor(p, q.category) > level) {
		level = levelFor(p, q.category);
		why = `the policy requires ${level} for category ${q.category} (the category asked)`;
	}
	if ((q.level || 0) > level) {
		why = `the request requires ${q.level} (the level asked, above the policy's ${level})`;
		level = q.level;
	}
	return { level, why };
}

const VERDICTS = ['allow', 'warn', 'deny', 'unknown'];

function judgeCert(q, p, c, required, now) {
	const r = { v: 0, reasons: [] };
	const add = (code, message) => r.reasons.length < 8 && r.reasons.push({ code, message });
	const t = today(now);
	if (c.status === 'revoked') {
		r.v = 2;
		add('revoked', `certificate ${c.id} is revoked`);
	} else if (c.status === 'suspended') {
		r.v = 2;
		add('suspended', `certificate ${c.id} is suspended`);
	}
	if (c.expires !== null && t > c.expires) {
		r.v = 2;
		add('expired', `certificate ${c.id} expired on ${dayString(c.expires)}`);
	}
	if (c.level < required.level) {
		r.v = 2;
		add('level_below_policy', `certified at level ${c.level}, ${required.why}`);
	}
	let spec = null;
	try {
		spec = parseFwSpec(c.firmware);
	} catch { /* an unreadable spec covers nothing */ }
	if (!spec || !covers(spec, q.firmware)) {
		r.v = 2;
		add('firmware_not_covered', `firmware ${q.firmware} is not covered (covered: ${c.firmware})`);
	} else if (c.revoked.some((x) => compareVersions(x, q.firmware) === 0)) {
		r.v = 2;
		add('firmware_revoked', `firmware ${q.firmware} is revoked for ${c.id}`);
	}
	if (c.supportEnd !== null) {
		const d = dayString(c.supportEnd);
		if (t > c.supportEnd) {
			if (p.deny_after_support_end) {
				r.v = 2;
				add('support_ended', `the vendor's support ended on ${d}`);
			} else if (r.v === 0) {
				r.v = 1;
				add('support_ended', `the vendor's support ended on ${d}`);
			}
		} else if (c.supportEnd - t <= p.support_warn_days && r.v === 0) {
			r.v = 1;
			add('support_ending', `the vendor's support ends on ${d}`);
		}
	}
	if (r.v !== 2) add('certified', `${c.vendor} ${q.model} is certified at level ${c.level} (${c.id}), firmware ${q.firmware} covered`);
	return r;
}

function verdictOf(v, reasons, requiredLevel, certificate) {
	return { verdict: VERDICTS[v], reasons, requiredLevel, certificate };
}

// sm_verdict_unknown: no usable data; the policy says whether that fails closed.
export function unknownVerdict(q, policy, code, message) {
	const p = policyOf(policy);
	const reasons = [{ code, message }];
	if (p.unknown === 'deny') {
		reasons.push({ code: 'fails_closed', message: `the policy '${p.name}' treats unknown as deny` });
		return verdictOf(3, reasons, requiredLevel(q, p, null).level, null);
	}
	reasons.push({ code: 'unknown_allowed', message: `the policy '${p.name}' lets a device pass when no usable data answers (unknown: allow)` });
	return verdictOf(1, reasons, requiredLevel(q, p, null).level, null);
}

// sm_verdict_eval over `certs` on data good until nextUpdate (0: always fresh).
export function evalVerdict(q, policy, certs, nextUpdate, now) {
	const p = policyOf(policy);
	if (isStale(p, nextUpdate, now)) {
		return unknownVerdict(q, policy, 'stale_data', 'the registry data is past its next update by more than the policy\'s offline grace');
	}
	let best = null;
	for (const c of certs) {
		const required = requiredLevel(q, p, c);
		const r = judgeCert(q, p, c, required, now);
		if (!best || r.v < best.r.v || (r.v === best.r.v && c.registered > best.c.registered)) best = { c, r, required };
	}
	if (!best) {
		return verdictOf(2, [{ code: 'unknown_model', message: `${q.vendor} ${q.model} is not in the registry: not certified` }], requiredLevel(q, p, null).level, null);
	}
	let v = best.r.v;
	const reasons = best.r.reasons;
	if (nextUpdate && now > nextUpdate && v === 0) {
		v = 1;
		if (reasons.length < 8) reasons.push({ code: 'data_past_next_update', message: 'the registry data is past its next update (offline grace)' });
	}
	return verdictOf(v, reasons, best.required.level, best.c);
}

export function checkDevice(device, policy, snapshot, now) {
	const q = { ...device };
	validateRequest(q);
	if (now > snapshot.expires) {
		return unknownVerdict(q, policy, 'snapshot_expired', `the cached snapshot (version ${snapshot.version}) expired at ${new Date(snapshot.expires * 1000).toISOString()}: sync again`);
	}
	return evalVerdict(q, policy, snapshot.byModel(q.vendor, q.model), snapshot.nextUpdate, now);
}

export async function checkDeviceOffline(device, policy, { anchor, chain = null, snapshot = null, floorVersion = 0 } = {}, now) {
	validateRequest(device);
	policyOf(policy);
	let snap;
	try {
		const trust = await followChain(anchor, chain);
		if (!snapshot) fail('not-found', 'cache', 'no synced snapshot');
		snap = await readSnapshot(snapshot, trust);
		checkFloor(snap, floorVersion);
	} catch (e) {
		if (!(e instanceof SmError)) throw e;
		return unknownVerdict(device, policy, 'no_data', `the offline data does not verify: ${e.message}`);
	}
	return checkDevice(device, policy, snap, now);
}
