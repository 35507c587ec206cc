// SPDX-License-Identifier: Apache-2.0
// Runs one case of the web vectors (tests/tools/web_vectors.c) with the browser's modules and answers in the
// shape lib's answer is recorded in (tests/tools/web_judge.c). Loaded by vectors.test.mjs in node and, served
// as /vectors_runner.mjs, in Chromium: `sm` holds the modules of web/static/js/sm/, imported by the caller.

export function fromBase64(b64) {
	const s = atob(b64);
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
	return out;
}

function blob(blobs, name) {
	return name ? fromBase64(blobs[name]) : null;
}

function anchorOf(c, blobs) {
	return c.anchor.fingerprint ? { fingerprint: c.anchor.fingerprint } : { bundle: blob(blobs, c.anchor.bundle) };
}

async function refused(sm, fn) {
	try {
		return await fn();
	} catch (e) {
		if (e instanceof sm.errors.SmError) return { error: e.code };
		throw e;
	}
}

function claimsOf(cl) {
	return cl && { id: cl.id, serial: cl.serial, level: cl.level, model: cl.model, vendor: cl.vendor,
		registered: cl.registered, issued_at: cl.issuedAt, scheme: cl.scheme };
}

export async function runCase(sm, c, blobs) {
	const chain = blob(blobs, c.chain);
	const snapshot = blob(blobs, c.snapshot);
	switch (c.kind) {
	case 'version':
		return { cmp: sm.version.compareVersions(c.a, c.b) };
	case 'fwspec':
		return refused(sm, () => ({ covers: sm.version.covers(sm.version.parseFwSpec(c.spec), c.version) }));
	case 'chain':
		return refused(sm, async () => {
			const t = await sm.trust.followChain(anchorOf(c, blobs), chain);
			return { version: t.version, root: t.rootFingerprint, scheme: t.scheme };
		});
	case 'snapshot':
		return refused(sm, async () => {
			const t = await sm.trust.followChain(anchorOf(c, blobs), chain);
			const s = await sm.snapshot.verifySnapshot(snapshot, t, { now: c.now, floorVersion: c.floor });
			return { version: s.version, produced_at: s.producedAt, next_update: s.nextUpdate, expires: s.expires,
				log_size: s.logSize, count: s.count };
		});
	case 'label':
		return refused(sm, async () => {
			const r = await sm.verdict.judgeLabelOffline(c.text, { anchor: anchorOf(c, blobs), chain, snapshot,
				floorVersion: c.floor, newest: c.newest }, c.now);
			return { verdict: r.verdict, genuine: r.genuine, in_force: r.inForce, status: r.status,
				past_next_update: r.pastNextUpdate, next_update: r.nextUpdate, field: r.field,
				claims: claimsOf(r.claims), certificate: r.certificate ? r.certificate.id : null,
				foreign_host: r.foreignHost };
		});
	case 'device':
		return refused(sm, async () => {
			const r = await sm.verdict.checkDeviceOffline(c.device, c.policy, { anchor: anchorOf(c, blobs), chain,
				snapshot, floorVersion: c.floor }, c.now);
			return { verdict: r.verdict, reasons: r.reasons.map((x) => x.code), required_level: r.requiredLevel,
				certificate: r.certificate ? r.certificate.id : null };
		});
	default:
		throw new Error(`unknown kind ${c.kind}`);
	}
}

// Every case: [{ name, expect, got }].
export async function runAll(sm, doc) {
	const out = [];
	for (const c of doc.cases) out.push({ name: c.name, expect: c.expect, got: await runCase(sm, c, doc.blobs) });
	return out;
}
