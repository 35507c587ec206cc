// SPDX-License-Identifier: Apache-2.0
// A mutation fuzz of the browser's parsers of outside input (web/static/js/sm/: CBOR, COSE_Sign1, label text and
// tokens, trust chains, snapshots), run in node on the bytes lib made (the vectors, SM_WEB_VECTORS): bits flipped,
// bytes cut, inserted, repeated and spliced. Whatever comes in, a parser answers or refuses with an SmError (the
// class lib would name); any other exception (a TypeError, a RangeError, a hang past the test's timeout) is a bug,
// printed with the input that made it. SM_FUZZ_RUNS sets the number of mutations per input (default 300 in ctest;
// a long run is `SM_FUZZ_RUNS=100000 node --test tests/web/fuzz_browser.test.mjs`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEB_ROOT } from './harness.mjs';

const SM = join(WEB_ROOT, 'static', 'js', 'sm');
const { SmError } = await import(join(SM, 'errors.js'));
const cbor = await import(join(SM, 'cbor.js'));
const { decodeSign1 } = await import(join(SM, 'cose.js'));
const { parseLabelText, verifyLabel } = await import(join(SM, 'label.js'));
const { followChain } = await import(join(SM, 'trust.js'));
const { readSnapshot } = await import(join(SM, 'snapshot.js'));

const VECTORS = process.env.SM_WEB_VECTORS;
const RUNS = Number(process.env.SM_FUZZ_RUNS || 300);
const doc = VECTORS ? JSON.parse(readFileSync(VECTORS, 'utf8')) : null;

// a small deterministic generator: a failure is reproduced by its seed
function rng(seed) {
	let s = seed >>> 0 || 1;
	return (n) => {
		s ^= s << 13;
		s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5;
		s >>>= 0;
		return s % n;
	};
}

function mutate(bytes, r) {
	const b = [...bytes];
	const ops = 1 + r(4);
	for (let i = 0; i < ops; i++) {
		const at = b.length ? r(b.length) : 0;
		switch (r(6)) {
		case 0: if (b.length) b[at] ^= 1 << r(8); break; // a bit
		case 1: b.length = at; break; // cut short
		case 2: b.splice(at, 0, r(256)); break; // a byte in
		case 3: b.splice(at, 1 + r(8)); break; // bytes out
		case 4: b.splice(at, 0, ...b.slice(r(b.length + 1), r(b.length + 1))); break; // a piece repeated
		default: if (b.length) b[at] = [0x00, 0x17, 0x18, 0x1b, 0x5b, 0x7b, 0x9b, 0xbb, 0xd8, 0xf7, 0xff][r(11)]; // CBOR heads
		}
	}
	return new Uint8Array(b);
}

async function expectRefusalOrAnswer(what, input, fn) {
	try {
		await fn();
	} catch (e) {
		if (!(e instanceof SmError))
			assert.fail(`${what}: ${e.name}: ${e.message}\ninput (hex): ${Buffer.from(input).toString('hex').slice(0, 2000)}`);
	}
}

test('the browser parsers refuse mutated inputs with an SmError, never another exception', { skip: doc ? false : 'SM_WEB_VECTORS is not set (ctest sets it)' }, async () => {
	const blob = (k) => new Uint8Array(Buffer.from(doc.blobs[k], 'base64'));
	const anchorCase = doc.cases.find((c) => c.kind === 'chain' && c.chain === 'chain' && c.anchor?.fingerprint);
	const anchor = anchorCase.anchor;
	const trust = await followChain(anchor, blob('chain'));
	const label = doc.cases.find((c) => c.kind === 'label' && c.expect?.verdict === 'genuine-in-force');
	let n = 0;
	for (const [k, b64] of Object.entries(doc.blobs)) {
		const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
		const r = rng(0x5eed + k.length * 7919 + bytes.length);
		for (let i = 0; i < RUNS; i++, n++) {
			const m = mutate(bytes, r);
			await expectRefusalOrAnswer(`cbor.decode of mutated ${k}`, m, () => cbor.decode(m));
			await expectRefusalOrAnswer(`decodeSign1 of mutated ${k}`, m, () => decodeSign1(m));
			if (k.startsWith('chain') || k.startsWith('bundle'))
				await expectRefusalOrAnswer(`followChain of mutated ${k}`, m, () => followChain(anchor, m));
			if (k.startsWith('snapshot'))
				await expectRefusalOrAnswer(`readSnapshot of mutated ${k}`, m, () => readSnapshot(m, trust));
			if (k === 'label-token')
				await expectRefusalOrAnswer(`verifyLabel of mutated ${k}`, m, () => verifyLabel(m, trust));
		}
	}
	// label texts: the scanned string itself, mutated as text
	const text = label?.text || '';
	const r = rng(77);
	for (let i = 0; i < RUNS * 4 && text; i++, n++) {
		const m = mutate(new TextEncoder().encode(text), r);
		const s = new TextDecoder().decode(m);
		await expectRefusalOrAnswer('parseLabelText of a mutated label', m, async () => {
			const tok = parseLabelText(s);
			await verifyLabel(tok, trust);
		});
	}
	console.log(`${n} mutated inputs, every one answered or refused with an SmError`);
	assert.ok(n > 1000);
});
