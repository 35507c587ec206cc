// SPDX-License-Identifier: Apache-2.0
// The registry search (/) and the retrofit check (/check) in headless Debian Chromium, at phone and desktop
// size, in both languages: the three spellings of one company, filters and paging in the URL, the open-data
// downloads, the certificate page link, a verdict in plain words and the home's level before and after;
// axe-core finds nothing serious, nothing comes from outside the registry, the first load of / is small.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { DESKTOP, PHONE, SHOTS, WEB_ROOT, axeViolations, launch, startServer, stopServer, watch, workspace } from './harness.mjs';

/** The status of a GET of `path` sent exactly as written (node:http does not normalise it). */
function rawStatus(base, path) {
	const u = new URL(base);
	return new Promise((resolve, reject) => {
		const r = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
			res.resume();
			resolve(res.statusCode);
		});
		r.on('error', reject);
		r.end();
	});
}

let ws;
let server;
let base;
let browser;
const ids = {};

before(async () => {
	ws = workspace('sm-pages-');
	const { cli } = ws;
	cli('init', '--scheme', 'CCDS', '--levels', '3', '--origin', 'registry.example.jp');
	const issue = (...a) => cli('issue', '--registered', '2025-04-01', '--expires', '2030-03-31', ...a).trim();
	ids.secom = issue('--vendor', 'SECOM', '--vendor-name', 'セコム株式会社', '--product', 'スマートロック', '--model', 'SL-100',
		'--level', '3', '--firmware', '>=3.0 <4.0', '--category', 'lock', '--support-end', '2031-03-31');
	ids.pana = issue('--vendor', 'PANA', '--vendor-name', 'パナソニック株式会社', '--product', 'エアコン無線アダプター',
		'--model', 'CZ-T100', '--level', '1', '--firmware', '>=2.0', '--category', 'air-conditioner');
	ids.rinnai = issue('--vendor', 'RINNAI', '--vendor-name', 'リンナイ株式会社', '--product', '無線LAN対応リモコン',
		'--model', 'MC-301V', '--level', '3', '--firmware', '>=1.0 <2.0', '--category', 'water-heater');
	ids.revoked = issue('--vendor', 'ACME', '--vendor-name', 'Acme Devices', '--product', 'Door sensor', '--model', 'DS-1',
		'--level', '1', '--firmware', '1.0', '--category', 'sensor');
	cli('revoke', ids.revoked, '--reason', 'fraudulent self-assessment');
	// enough of one vendor for three pages (50 a page)
	const rows = ['vendor,vendor_name,product,models,level,firmware,category,registered,expires'];
	for (let i = 0; i < 110; i++)
		rows.push(`BULK,Bulk Sensors,Sensor ${i},BS-${1000 + i},${1 + (i % 2)},1.0,sensor,2025-01-01,2030-01-01`);
	writeFileSync(join(ws.work, 'bulk.csv'), `${rows.join('\n')}\n`);
	cli('import', join(ws.work, 'bulk.csv'));
	writeFileSync(join(ws.work, 'policy.json'), JSON.stringify({ name: 'tower-2026', default_level: 1,
		levels: { lock: 3, 'water-heater': 3, 'air-conditioner': 2, sensor: 1 }, unknown: 'deny' }));
	cli('policy', 'publish', join(ws.work, 'policy.json'));
	const s = await startServer(ws.db);
	server = s.proc;
	base = s.base;
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await stopServer(server);
	if (ws)
		rmSync(ws.work, { recursive: true, force: true });
});

async function open(size, lang, path) {
	const ctx = await browser.newContext({ ...size, locale: lang === 'ja' ? 'ja-JP' : 'en-US' });
	const page = await ctx.newPage();
	page.setDefaultTimeout(10000);
	const problems = watch(page, base);
	await page.goto(`${base}${path}`);
	return { ctx, page, problems };
}

const SIZES = { phone: PHONE, desktop: DESKTOP };

describe('registry search', () => {
	for (const [sizeName, size] of Object.entries(SIZES)) {
		for (const lang of ['en', 'ja']) {
			test(`${sizeName}, ${lang}: ｾｺﾑ, セコム and ＳＥＣＯＭ find the same certificate`, async () => {
				const { ctx, page, problems } = await open(size, lang, '/');
				for (const q of ['ｾｺﾑ', 'セコム', 'ＳＥＣＯＭ']) {
					await page.fill('#q', q);
					await page.click('#search button[type=submit]');
					await page.waitForFunction((want) => new URLSearchParams(location.search).get('q') === want, q);
					const links = page.locator('#results a[href^="/c/"]');
					await links.first().waitFor();
					assert.deepEqual(await links.allTextContents(), [ids.secom], `search '${q}'`);
				}
				assert.equal(await page.locator('html').getAttribute('lang'), lang);
				await page.screenshot({ path: join(SHOTS, `search-${sizeName}-${lang}.png`), fullPage: true });
				assert.deepEqual(await axeViolations(page), []);
				assert.deepEqual(problems, []);
				await ctx.close();
			});
		}
	}

	test('the search state is in the URL: a shared link shows the same page of the same results', async () => {
		const { ctx, page, problems } = await open(DESKTOP, 'en', '/?q=sensor&level=2&page=2');
		await page.locator('#results li').first().waitFor();
		assert.equal(await page.inputValue('#q'), 'sensor');
		assert.equal(await page.inputValue('#level'), '2');
		// 55 sensors of level 2 (BULK odd i): 50 on page 1, 5 on page 2
		assert.equal(await page.locator('#results li').count(), 5);
		assert.match(await page.textContent('#summary'), /^55 certificates$/);
		assert.match(await page.textContent('#pages'), /Page 2 of 2/);
		await page.click('#pages a:has-text("Previous")');
		await page.waitForFunction(() => !new URLSearchParams(location.search).has('page'));
		// the URL changes first, the results when the answer comes: wait for them (a flake under load otherwise)
		await page.waitForFunction(() => /Page 1 of 2/.test(document.querySelector('#pages').textContent));
		assert.equal(await page.locator('#results li').count(), 50);
		await page.goBack();
		await page.waitForFunction(() => new URLSearchParams(location.search).get('page') === '2');
		await page.waitForFunction(() => document.querySelectorAll('#results li').length === 5);
		// status filter
		await page.goto(`${base}/?status=revoked`);
		await page.locator('#results li').first().waitFor();
		assert.deepEqual(await page.locator('#results a[href^="/c/"]').allTextContents(), [ids.revoked]);
		assert.deepEqual(problems, []);
		await ctx.close();
	});

	test('open data: the download links give the same certificates as CSV and JSON Lines', async () => {
		const { ctx, page } = await open(DESKTOP, 'en', '/?q=secom');
		await page.locator('#results li').first().waitFor();
		const csvHref = await page.getAttribute('#downloads a:has-text("CSV")', 'href');
		const jsonlHref = await page.getAttribute('#downloads a:has-text("JSON Lines")', 'href');
		const csv = await (await fetch(`${base}${csvHref}`)).text();
		const jsonl = await (await fetch(`${base}${jsonlHref}`)).text();
		assert.match(csv.split('\n')[0], /vendor/);
		assert.equal(csv.trim().split('\n').length, 2, csv);
		assert.equal(JSON.parse(jsonl.trim()).id, ids.secom);
		await ctx.close();
	});

	test('a result links to its certificate page, which keeps the language', async () => {
		const { ctx, page } = await open(PHONE, 'en', '/?q=SL-100&lang=ja');
		await page.click(`#results a:has-text("${ids.secom}")`);
		await page.waitForURL(/\/c\//);
		assert.match(page.url(), new RegExp(`/c/${ids.secom}\\?lang=ja$`));
		assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
		await ctx.close();
	});

	test('the first load of / is under 200 KB compressed', async () => {
		// a fresh context (an empty cache), watched from the first request: a reload would measure 304s
		const ctx = await browser.newContext({ ...PHONE, locale: 'en-US' });
		const page = await ctx.newPage();
		const seen = [];
		page.on('requestfinished', (r) => seen.push((async () => {
			const z = await r.sizes();
			return { path: new URL(r.url()).pathname, status: (await r.response()).status(), bytes: z.responseBodySize + z.responseHeadersSize };
		})()));
		await page.goto(`${base}/`);
		await page.locator('#results li').first().waitFor();
		await page.waitForLoadState('networkidle');
		const got = await Promise.all(seen);
		const total = got.reduce((a, b) => a + b.bytes, 0);
		for (const path of ['/', '/static/js/site.js', '/static/js/search.js', '/static/css/site.css', '/v1/certs'])
			assert.ok(got.some((x) => x.path === path && x.status === 200 && x.bytes > 0), `${path} loaded whole: ${JSON.stringify(got)}`);
		assert.ok(total < 200 * 1024, `first load ${total} bytes`);
		console.log(`first load of /: ${got.length} requests, ${total} bytes`);
		await ctx.close();
	});

	test('after Next or Previous the keyboard focus is on the new results\' summary, not lost', async () => {
		const { ctx, page, problems } = await open(PHONE, 'en', '/?q=sensor&level=2');
		await page.locator('#results li').first().waitFor();
		await page.focus('#pages a[data-page="2"]');
		await page.keyboard.press('Enter');
		await page.waitForFunction(() => document.querySelectorAll('#results li').length === 5);
		assert.equal(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName), 'summary');
		assert.deepEqual(problems, []);
		await ctx.close();
	});
});

describe('retrofit check', () => {
	for (const [sizeName, size] of Object.entries(SIZES)) {
		for (const lang of ['en', 'ja']) {
			test(`${sizeName}, ${lang}: a published policy, a model found by name, the verdict in plain words`, async () => {
				const { ctx, page, problems } = await open(size, lang, '/check');
				await page.locator('#policy option', { hasText: 'tower-2026' }).waitFor({ state: 'attached' });
				await page.selectOption('#policy', { label: 'tower-2026' });
				await page.fill('#find', 'SL-100');
				await page.locator('#found button').first().click();
				assert.equal(await page.inputValue('#vendor'), 'SECOM');
				assert.equal(await page.inputValue('#category'), 'lock');
				await page.fill('#firmware', '3.2');
				await page.click('#check button[type=submit]');
				await page.locator('#verdict').waitFor();
				assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'allow');
				const words = await page.textContent('#verdict');
				assert.match(words, lang === 'ja' ? /追加できます/ : /may join your home/);
				assert.match(words, /2031-03-31/);
				await page.screenshot({ path: join(SHOTS, `check-${sizeName}-${lang}.png`), fullPage: true });
				// a comfort device of level 1 where the policy asks 2: denied, with the reason
				await page.fill('#vendor', 'PANA');
				await page.fill('#model', 'CZ-T100');
				await page.fill('#category', 'air-conditioner');
				await page.fill('#firmware', '2.1');
				await page.click('#check button[type=submit]');
				await page.waitForFunction(() => document.querySelector('#verdict')?.dataset.verdict === 'deny');
				assert.match(await page.textContent('#verdict'), lang === 'ja' ? /追加できません/ : /may not join/);
				assert.deepEqual(await axeViolations(page), []);
				assert.deepEqual(problems, []);
				await ctx.close();
			});
		}
	}

	test('with a home document: the home\'s level before and after the device', async () => {
		const { ctx, page, problems } = await open(DESKTOP, 'en', '/check');
		const home = { home: 'flat-12', policy: { name: 'flat', default_level: 1, levels: {} }, devices: [
			{ id: 'remote', vendor: 'RINNAI', model: 'MC-301V', firmware: '1.5', category: 'water-heater', planned: true, installed: true },
		] };
		await page.fill('#home', JSON.stringify(home));
		await page.fill('#vendor', 'PANA');
		await page.fill('#model', 'CZ-T100');
		await page.fill('#firmware', '2.1');
		await page.click('#check button[type=submit]');
		await page.locator('#verdict').waitFor();
		assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'allow');
		assert.match(await page.textContent('#verdict'), /Level 3.*→.*Level 1/);
		// a broken home document is named, not sent
		await page.fill('#home', '{"devices": [');
		await page.click('#check button[type=submit]');
		await page.locator('#error').waitFor();
		assert.match(await page.textContent('#error'), /home document cannot be read/);
		assert.deepEqual(problems, []);
		await ctx.close();
	});
});

describe('a scheme of four levels', () => {
	test('the level filter offers the scheme\'s levels, and a link with level=4 selects ★★★★', async () => {
		const w = workspace('sm-pages4-');
		const s4 = { proc: null };
		try {
			w.cli('init', '--scheme', 'SMART4', '--levels', '4', '--origin', 'four.example.jp');
			w.cli('issue', '--registered', '2025-04-01', '--vendor', 'TOP', '--vendor-name', 'Top Devices', '--product', 'Hub',
				'--model', 'H-4', '--level', '4', '--firmware', '>=1.0', '--category', 'hub');
			w.cli('issue', '--registered', '2025-04-01', '--vendor', 'MID', '--vendor-name', 'Mid Devices', '--product', 'Plug',
				'--model', 'P-2', '--level', '2', '--firmware', '>=1.0', '--category', 'plug');
			Object.assign(s4, await startServer(w.db));
			const ctx = await browser.newContext({ ...DESKTOP, locale: 'en-US' });
			const page = await ctx.newPage();
			page.setDefaultTimeout(10000);
			const problems = watch(page, s4.base);
			await page.goto(`${s4.base}/?level=4`);
			await page.locator('#level option[value="4"]').waitFor({ state: 'attached' });
			assert.deepEqual(await page.$$eval('#level option', (o) => o.map((x) => x.value)), ['', '1', '2', '3', '4']);
			await page.waitForFunction(() => document.querySelector('#level').value === '4');
			await page.locator('#results li').first().waitFor();
			assert.match(await page.textContent('#results'), /H-4/);
			assert.doesNotMatch(await page.textContent('#results'), /P-2/);
			assert.deepEqual(problems, []);
			await ctx.close();
		} finally {
			await stopServer(s4.proc);
			rmSync(w.work, { recursive: true, force: true });
		}
	});
});

describe('pages', () => {
	test('every page has the strict CSP; an unknown page is an HTML page for a person, JSON for a program', async () => {
		for (const path of ['/', '/check', '/scan']) {
			const r = await fetch(`${base}${path}`);
			assert.equal(r.status, 200, path);
			const csp = r.headers.get('content-security-policy');
			assert.match(csp, /script-src 'self'/, path);
			assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
		}
		const html = await fetch(`${base}/no-such-page`, { headers: { Accept: 'text/html' } });
		assert.equal(html.status, 404);
		assert.match(html.headers.get('content-type'), /text\/html/);
		assert.match(await html.text(), /href="\/"/);
		const json = await fetch(`${base}/no-such-page`);
		assert.equal(json.status, 404);
		assert.equal((await json.json()).error.code, 'not_found');
		// nothing outside web/'s pages and static/ is served: not the package files, not node_modules. Sent raw
		// (fetch would remove the dot segments, %2e%2e included, before the server saw them)
		for (const p of ['/package.json', '/static/../package.json', '/static/%2e%2e/package.json', '/static/js/..%2f..%2f..%2fpackage.json',
			'/static//js/site.js', '/STATIC/JS/SITE.JS', '/static/js/site.js/', '/node_modules/jsqr/package.json', '/tools/vendor.mjs',
			'/static/vendor/../../package.json', '/index.html', '/scan.html'])
			assert.ok([400, 404].includes(await rawStatus(base, p)), p); // an encoded '/' is the guard's 400
		assert.equal(await rawStatus(base, '/static/js/site.js'), 200);
	});

	test('a symbolic link under web/ is not served: nothing outside the directory can be asked for', async () => {
		const web = join(ws.work, 'web');
		cpSync(WEB_ROOT, web, { recursive: true, filter: (src) => !src.includes('node_modules') });
		writeFileSync(join(ws.work, 'secret.txt'), 'not for the web\n');
		mkdirSync(join(ws.work, 'private'));
		writeFileSync(join(ws.work, 'private', 'keys.json'), '{}');
		symlinkSync(join(ws.work, 'secret.txt'), join(web, 'static', 'secret.txt'));
		symlinkSync(join(ws.work, 'private'), join(web, 'static', 'private'));
		const s = await startServer(ws.db, {}, web);
		try {
			for (const p of ['/static/secret.txt', '/static/private/keys.json'])
				assert.equal(await rawStatus(s.base, p), 404, p);
			assert.equal(await rawStatus(s.base, '/static/js/site.js'), 200);
		} finally {
			await stopServer(s.proc);
		}
	});
});
