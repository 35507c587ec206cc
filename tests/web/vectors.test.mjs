// SPDX-License-Identifier: Apache-2.0
// One truth in two languages: the browser's modules (web/static/js/sm/) over the vectors lib made
// (tests/tools/web_vectors.c), case by case, in headless Debian Chromium and in node, with the same answers.
//
// Needs SM_WEB_VECTORS (the JSON file lib made in this build: tests/web/CMakeLists.txt sets it under ctest);
// skips without it, so that `node --test tests/web/` elsewhere does not fail for want of a build. The page is
// http://localhost:8477/ (a secure context, so crypto.subtle exists) served by page.route alone: no network,
// no server, nothing from outside, under a CSP of script-src 'self'.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { runAll, runCase } from './vectors_runner.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const JS = join(HERE, '..', '..', 'web', 'static', 'js');
const VECTORS = process.env.SM_WEB_VECTORS;
const CHROMIUM = process.env.SM_CHROMIUM || '/usr/bin/chromium';
const ORIGIN = 'http://localhost:8477';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MODULES = ['errors', 'cbor', 'cose', 'trust', 'label', 'snapshot', 'version', 'verdict'];
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'";

// The page's one script: the modules and the runner, exposed for page.evaluate.
const RUN_JS = `${MODULES.map((m) => `import * as ${m} from '/static/js/sm/${m}.js';`).join('\n')}
import { runAll, runCase } from '/vectors_runner.mjs';
const sm = { ${MODULES.join(', ')} };
window.smRunAll = (doc) => runAll(sm, doc);
window.smRunCase = (c, blobs) => runCase(sm, c, blobs);
window.smReady = true;
`;
const PAGE = '<!doctype html><meta charset="utf-8"><title>vectors</title><script type="module" src="/run.js"></script>';

const doc = VECTORS ? JSON.parse(readFileSync(VECTORS, 'utf8')) : null;

// A case with one byte of a blob (or one character of its text) changed, under a new blob name.
function mutated(c, blobs) {
	const m = structuredClone(c);
	const b = { ...blobs };
	if (m.kind === 'label') {
		const i = m.text.length - 12;
		m.text = m.text.slice(0, i) + (m.text[i] === 'A' ? 'B' : 'A') + m.text.slice(i + 1);
	} else {
		const bytes = Buffer.from(b[m.snapshot], 'base64');
		bytes[bytes.length - 20] ^= 0x01;
		b['mutated'] = bytes.toString('base64');
		m.snapshot = 'mutated';
	}
	return [m, b];
}

const GENUINE = 'label: genuine, issued before two root rotations (pinned first root)';
const ALLOW = 'device: allow';

describe('web vectors', { skip: doc ? false : 'SM_WEB_VECTORS is not set (ctest sets it)' }, () => {
	let browser;
	let page;
	const pageErrors = [];

	before(async () => {
		browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 20000 });
		const context = await browser.newContext();
		page = await context.newPage();
		page.on('pageerror', (e) => pageErrors.push(e.message));
		page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
		await context.route('**/*', async (route) => {
			const url = new URL(route.request().url());
			if (url.origin !== ORIGIN) return route.abort(); // nothing from outside
			const headers = { 'Content-Security-Policy': CSP };
			if (url.pathname === '/') return route.fulfill({ status: 200, contentType: 'text/html', headers, body: PAGE });
			if (url.pathname === '/run.js') return route.fulfill({ status: 200, contentType: 'text/javascript', headers, body: RUN_JS });
			if (url.pathname === '/vectors_runner.mjs') {
				return route.fulfill({ status: 200, contentType: 'text/javascript', headers, body: readFileSync(join(HERE, 'vectors_runner.mjs')) });
			}
			const m = /^\/static\/js\/(sm\/[a-z]+\.js)$/.exec(url.pathname);
			if (m) return route.fulfill({ status: 200, contentType: 'text/javascript', headers, body: readFileSync(normalize(join(JS, m[1]))) });
			return route.fulfill({ status: 404, body: 'not found' });
		});
		await page.goto(`${ORIGIN}/`);
		await page.waitForFunction(() => window.smReady === true, null, { timeout: 10000 });
	});

	after(async () => {
		if (browser) await browser.close();
	});

	test('the modules load under script-src \'self\' and WebCrypto has Ed25519', async () => {
		assert.equal(await page.evaluate(() => window.isSecureContext && typeof crypto.subtle.verify === 'function'), true);
		assert.deepEqual(pageErrors, []);
	});

	test('every vector gives lib\'s answer in Chromium', async () => {
		const results = await page.evaluate((d) => window.smRunAll(d), doc);
		assert.equal(results.length, doc.cases.length);
		const failed = [];
		for (const r of results) {
			const same = JSON.stringify(sortKeys(r.got)) === JSON.stringify(sortKeys(r.expect));
			console.log(`${same ? 'ok  ' : 'FAIL'} chromium  ${r.name}`);
			if (!same) failed.push(`${r.name}\n    lib:     ${JSON.stringify(r.expect)}\n    browser: ${JSON.stringify(r.got)}`);
		}
		assert.deepEqual(failed, [], `the browser disagrees with lib on ${failed.length} case(s)`);
		assert.ok(results.length >= 100, `only ${results.length} cases`);
	});

	test('every vector gives lib\'s answer in node', async () => {
		const sm = {};
		for (const m of MODULES) sm[m] = await import(join(JS, 'sm', `${m}.js`));
		const failed = [];
		for (const r of await runAll(sm, doc)) {
			try {
				assert.deepStrictEqual(r.got, r.expect);
			} catch {
				failed.push(`${r.name}: lib ${JSON.stringify(r.expect)}, node ${JSON.stringify(r.got)}`);
			}
		}
		assert.deepEqual(failed, []);
	});

	test('a changed byte changes the answer (the test cannot pass vacuously)', async () => {
		for (const name of [GENUINE, ALLOW]) {
			const c = doc.cases.find((x) => x.name === name);
			assert.ok(c, `no case '${name}'`);
			const [m, blobs] = mutated(c, doc.blobs);
			const got = await page.evaluate(([mc, b]) => window.smRunCase(mc, b), [m, blobs]);
			console.log(`mutated   ${name}: ${JSON.stringify(got)}`);
			assert.notDeepEqual(got, c.expect, `${name}: a flipped byte left the answer unchanged`);
			assert.notEqual(got.verdict, c.expect.verdict);
		}
		// and the expectations are not what any answer would match
		const first = doc.cases.find((x) => x.name === GENUINE);
		assert.equal(first.expect.verdict, 'genuine-in-force');
		assert.deepEqual(await runCase({ ...(await loadNode()) }, first, doc.blobs), first.expect);
	});

	test('the published COSE EdDSA examples verify (and fail when altered)', async () => {
		const dir = join(HERE, '..', 'data', 'vectors', 'cose');
		for (const f of ['eddsa-sig-01.json', 'eddsa-sig-02.json', 'eddsa-01.json']) {
			let v;
			try {
				v = JSON.parse(readFileSync(join(dir, f), 'utf8'));
			} catch {
				continue;
			}
			const key = v.input.sign0 ? v.input.sign0.key : v.input.sign.signers[0].key;
			const res = await page.evaluate(async ([cbor, x]) => {
				const { decodeSign1, verifySign1 } = await import('/static/js/sm/cose.js');
				const hexb = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
				const bytes = hexb(cbor);
				let msg;
				try {
					msg = decodeSign1(bytes);
				} catch (e) {
					return { decoded: false, why: e.message };
				}
				const good = await verifySign1(msg, hexb(x));
				bytes[bytes.length - 1] ^= 1;
				const bad = await verifySign1(decodeSign1(bytes), hexb(x));
				return { decoded: true, good, bad };
			}, [v.output.cbor, key.x_hex]);
			console.log(`cose      ${f}: ${JSON.stringify(res)}`);
			if (f === 'eddsa-01.json' && !res.decoded) continue; // COSE_Sign (several signers) is not a COSE_Sign1
			if (key.crv === 'Ed448') {
				// starmark is Ed25519 only: lib refuses the 114-byte Ed448 signature as it is decoded, so does the browser
				assert.deepEqual(res, { decoded: false, why: 'signature must be a byte string of 64 bytes (Ed25519), got another length' }, f);
				continue;
			}
			assert.deepEqual(res, { decoded: true, good: true, bad: false }, f);
		}
	});

	test('firmware ordering agrees with dpkg --compare-versions (tests/data/version_oracle.txt)', async () => {
		const { compareVersions } = await import(join(JS, 'sm', 'version.js'));
		const lines = readFileSync(join(HERE, '..', 'data', 'version_oracle.txt'), 'utf8').split('\n')
			.filter((l) => l && !l.startsWith('#'));
		const wrong = lines.map((l) => l.split(' ')).filter(([a, b, c]) => compareVersions(a, b) !== Number(c));
		assert.deepEqual(wrong, []);
		assert.ok(lines.length > 100);
	});
});

async function loadNode() {
	const sm = {};
	for (const m of MODULES) sm[m] = await import(join(JS, 'sm', `${m}.js`));
	return sm;
}

function sortKeys(v) {
	if (Array.isArray(v)) return v.map(sortKeys);
	if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
	return v;
}
