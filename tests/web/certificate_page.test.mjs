// SPDX-License-Identifier: Apache-2.0
// The certificate page (/L/{token}, /c/{id}) in headless Debian Chromium at phone size, both languages.
//
// Starts its own registry (the real CLI) and starmarkd on 127.0.0.1:0 in a temporary directory, drives
// /usr/bin/chromium with playwright-core (never a downloaded browser), and writes one screenshot per page
// to tests/web/screenshots/. Needs STARMARK_BIN and STARMARKD_BIN (ctest sets both).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, 'screenshots');
const SM = process.env.STARMARK_BIN;
const SMD = process.env.STARMARKD_BIN;
const CHROMIUM = process.env.SM_CHROMIUM || '/usr/bin/chromium';
// Everything runs on one fixed day, so that "active" stays active and the keys' validity matches.
const NOW = '2026-06-01';
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
// As on this machine's closed network: no background connections, a fresh profile (Playwright makes one).
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

// What each language must say; the test checks the page against these, not against pages.c.
const WORDS = {
	en: {
		locale: 'en-US', status: { active: 'ACTIVE', revoked: 'REVOKED' }, genuine: 'Genuine label',
		notGenuine: 'NOT GENUINE', forged: 'forged or altered', none: 'none', back: 'Search the registry',
		notFound: 'NOT FOUND', history: { issue: 'Certified', 'firmware-revoke': 'Firmware versions revoked',
			revoke: 'Revoked' },
		validUntil: 'The certificate is valid until 2027-01-21.',
		supportEnds: "This product's vendor support ends on 2030-12-31.",
		atHome: { active: 'nothing needs to be done', revoked: 'can no longer be relied on' },
		rows: { id: 'Registration number', vendor: 'Vendor', product: 'Product', models: 'Model numbers',
			fw: 'Firmware covered', fwRevoked: 'Firmware revoked', registered: 'Registered',
			expires: 'Expires', support: 'Vendor support until' },
	},
	ja: {
		locale: 'ja-JP', status: { active: '有効', revoked: '取り消し済み' }, genuine: '正規のラベルです',
		notGenuine: '正規のラベルではありません', forged: '偽造または改ざん', none: 'なし', back: '登録情報を検索',
		notFound: '見つかりません', history: { issue: '認証', 'firmware-revoke': 'ファームウェアの取り消し', revoke: '取り消し' },
		validUntil: 'この認証の有効期限は2027-01-21です。',
		supportEnds: 'この製品のメーカーサポートは2030-12-31に終了します。',
		atHome: { active: '特に必要なことはありません', revoked: 'もう言えません' },
		rows: { id: '登録番号', vendor: '事業者', product: '製品名', models: '型番', fw: '対象ファームウェア',
			fwRevoked: '取り消されたファームウェア', registered: '登録日', expires: '有効期限',
			support: 'サポート期限' },
	},
};

const CERTS = {
	active: {
		args: ['--vendor', 'RINNAI', '--vendor-name', 'リンナイ株式会社', '--product', '無線LAN対応リモコン',
			'--model', 'MC-301V', '--model', 'MC-302V', '--level', '1', '--firmware', '>=1.0.0 <2.0,2.0.1',
			'--category', 'water-heater', '--registered', '2021-01-22', '--expires', '2027-01-21',
			'--support-end', '2030-12'],
		fwRevoked: ['1.4.2'],
	},
	revoked: {
		// long names and a long model number: the page must wrap them, not scroll sideways
		args: ['--vendor', 'PANASONIC', '--vendor-name', 'パナソニック コネクト株式会社',
			'--product', '屋外用ネットワークカメラ（全方位・赤外線照明付き）', '--model', 'WV-S4556LJ',
			'--model', 'WV-X4573LJ-EXTENDED-WARRANTY-EDITION', '--model', 'WV-S4576LJ', '--level', '3',
			'--firmware', '>=3.0 <4.0', '--category', 'camera', '--registered', '2022-04-01',
			'--expires', '2028-03-31', '--support-end', '2031-03'],
		fwRevoked: ['3.1.0', '3.2.4'],
		revokeReason: 'fraudulent self-assessment',
	},
};

let work;
let server;
let base;
let browser;
const data = {}; // kind -> { id, json, token }

function cli(...args) {
	return execFileSync(SM, args, {
		env: { ...process.env, STARMARK_DB: join(work, 'reg'), STARMARK_NOW: NOW },
		encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
	});
}

function startServer() {
	return new Promise((resolve, reject) => {
		const p = spawn(SMD, ['--db', join(work, 'reg'), '--listen', '127.0.0.1:0'], {
			env: { ...process.env, STARMARK_NOW: NOW }, stdio: ['ignore', 'pipe', 'pipe'],
		});
		let seen = '';
		const timer = setTimeout(() => reject(new Error(`starmarkd did not say where it listens: ${seen}`)),
			10000);
		const look = (chunk) => {
			seen += chunk;
			const m = /listening on 127\.0\.0\.1:(\d+)/.exec(seen);
			if (m) {
				clearTimeout(timer);
				resolve({ proc: p, port: Number(m[1]) });
			}
		};
		p.stdout.setEncoding('utf8').on('data', look);
		p.stderr.setEncoding('utf8').on('data', look);
		p.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`starmarkd exited with ${code} before listening: ${seen}`));
		});
	});
}

function stopServer(p) {
	return new Promise((resolve) => {
		if (p.exitCode !== null || p.signalCode !== null) {
			resolve();
			return;
		}
		const t = setTimeout(() => p.kill('SIGKILL'), 5000);
		p.once('exit', () => {
			clearTimeout(t);
			resolve();
		});
		p.kill('SIGTERM');
	});
}

// A label URL with one base32 character of the signature changed: decodes, but must not verify.
function forge(token) {
	const i = token.length - 20;
	const c = token[i] === 'A' ? 'B' : 'A';
	return token.slice(0, i) + c + token.slice(i + 1);
}

before(async () => {
	assert.ok(SM && SMD, 'set STARMARK_BIN and STARMARKD_BIN (ctest sets them)');
	work = mkdtempSync(join(tmpdir(), 'sm-web-'));
	mkdirSync(SHOTS, { recursive: true });
	cli('init', '--scheme', 'CCDS', '--levels', '3', '--origin', 'registry.example.jp');
	for (const [kind, c] of Object.entries(CERTS)) {
		const id = cli('issue', ...c.args).trim();
		assert.match(id, /^SM-\d{4}-\d{6}$/, `issue printed an id, got '${id}'`);
		cli('firmware-revoke', id, ...c.fwRevoked, '--reason', 'CVE-2026-1234');
		// the label is printed while the certificate is active; a revoked one gets none, but the labels
		// already on products stay in the field and must then lead to the revoked page
		const png = join(work, `${kind}.png`);
		const label = JSON.parse(cli('--json', 'label', id, '--format', 'png', '--out', png));
		if (c.revokeReason)
			cli('revoke', id, '--reason', c.revokeReason);
		const m = /^HTTPS:\/\/REGISTRY\.EXAMPLE\.JP\/L\/([A-Z2-7]+)$/.exec(label.url);
		assert.ok(m, `label URL in the expected shape, got '${label.url}'`);
		data[kind] = { id, json: JSON.parse(cli('--json', 'show', id)), token: m[1], png };
	}
	const s = await startServer();
	server = s.proc;
	base = `http://127.0.0.1:${s.port}`;
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 20000 });
});

after(async () => {
	if (browser)
		await browser.close();
	if (server)
		await stopServer(server);
	if (work)
		rmSync(work, { recursive: true, force: true });
});

// The facts of the page that the assertions need, measured in the browser.
async function measure(page) {
	return page.evaluate(() => {
		const box = (el) => {
			if (!el)
				return null;
			const r = el.getBoundingClientRect();
			const cs = getComputedStyle(el);
			return {
				top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, height: r.height,
				text: el.textContent.trim(), fontSize: parseFloat(cs.fontSize), fontWeight: cs.fontWeight,
				color: cs.color, background: cs.backgroundColor, className: el.className, visible: r.width > 0 && r.height > 0 &&
					cs.visibility !== 'hidden' && cs.display !== 'none',
				data: el.dataset ? { ...el.dataset } : {},
			};
		};
		// each row's value as text (list items joined with ', '), and how many lines each list item takes
		const rows = {};
		const items = {};
		const lines = (el) => {
			const r = document.createRange();
			r.selectNodeContents(el);
			return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
		};
		for (const tr of document.querySelectorAll('table tr')) {
			const th = tr.querySelector('th');
			const td = tr.querySelector('td');
			if (!th || !td)
				continue;
			const li = [...td.querySelectorAll('li')];
			const k = th.textContent.trim();
			rows[k] = li.length ? li.map((el) => el.textContent.trim()).join(', ') : td.textContent.trim();
			items[k] = li.map((el) => ({ text: el.textContent.trim(), lines: lines(el) }));
		}
		const clipped = [...document.querySelectorAll('body *')]
			.filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
			.map((el) => el.tagName);
		const wide = [...document.querySelectorAll('body *')]
			.filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
			.map((el) => `${el.tagName}.${el.className}: ${el.textContent.trim().slice(0, 40)}`);
		return {
			lang: document.documentElement.lang, title: document.title,
			scrollWidth: document.documentElement.scrollWidth,
			bodyFontSize: parseFloat(getComputedStyle(document.body).fontSize),
			minTextSize: Math.min(...[...document.querySelectorAll('th, td, p')]
				.map((el) => parseFloat(getComputedStyle(el).fontSize))),
			status: box(document.getElementById('status')),
			genuine: box(document.getElementById('genuine')),
			reason: box(document.getElementById('reason')),
			stars: box(document.querySelector('.stars')),
			table: box(document.querySelector('table')),
			firstText: box([...(document.querySelector('main') || document.body).children]
				.find((el) => el.textContent.trim() !== '')),
			nav: box(document.querySelector('nav')),
			back: document.getElementById('back') && { href: document.getElementById('back').getAttribute('href'),
				text: document.getElementById('back').textContent.trim() },
			langs: [...document.querySelectorAll('nav .langs a')].map((a) => ({ href: a.getAttribute('href'),
				text: a.textContent.trim(), current: a.getAttribute('aria-current') })),
			history: [...document.querySelectorAll('#history li')].map((li) => ({ event: li.dataset.event,
				date: li.querySelector('time') && li.querySelector('time').getAttribute('datetime'),
				text: li.textContent.trim() })),
			plain: box(document.getElementById('plain')),
			validUntil: box(document.getElementById('valid-until')),
			support: box(document.getElementById('support')),
			atHome: box(document.getElementById('at-home')),
			error: box(document.getElementById('error')),
			rows, items, clipped, wide,
		};
	});
}

// Every console message and page error of a page that speaks of the Content Security Policy.
function watchCsp(page) {
	const seen = [];
	page.on('console', (m) => {
		if (/Content Security Policy|Refused to/i.test(m.text()))
			seen.push(m.text());
	});
	page.on('pageerror', (e) => seen.push(String(e)));
	return seen;
}

// The way back and the language switch: both keep the page's language.
function checkNav(f, lang, what) {
	const w = WORDS[lang];
	assert.ok(f.nav && f.nav.visible, `${what}: a visible navigation line`);
	assert.ok(f.nav.bottom <= f.firstText.top, `${what}: the navigation above the page's content`);
	assert.deepEqual(f.back, { href: `/?lang=${lang}`, text: `\u2190 ${w.back}` }, `${what}: the way back to the search`);
	assert.deepEqual(f.langs, [
		{ href: '?lang=ja', text: '日本語', current: lang === 'ja' ? 'page' : null },
		{ href: '?lang=en', text: 'English', current: lang === 'en' ? 'page' : null },
	], `${what}: the language switch, the current one marked`);
}

function rgb(css) {
	const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
	assert.ok(m, `a computed colour, got '${css}'`);
	return m.slice(1, 4).map(Number);
}

function checkLayout(f, what) {
	assert.ok(f.scrollWidth <= 390, `${what}: no sideways scrolling at 390 px, scrollWidth ${f.scrollWidth}; ` +
		`too wide: ${JSON.stringify(f.wide)}`);
	assert.deepEqual(f.wide, [], `${what}: every element inside the 390 px screen`);
	assert.deepEqual(f.clipped, [], `${what}: no element clips its text`);
	assert.ok(f.bodyFontSize >= 16, `${what}: body text at least 16 px, got ${f.bodyFontSize}`);
	assert.ok(f.minTextSize >= 14, `${what}: no text under 14 px, smallest ${f.minTextSize}`);
}

for (const lang of ['en', 'ja']) {
	const w = WORDS[lang];
	describe(`certificate page, ${lang}`, () => {
		let context;
		before(async () => {
			context = await browser.newContext({ ...PHONE, locale: w.locale });
		});
		after(async () => {
			if (context)
				await context.close();
		});

		for (const kind of ['active', 'revoked']) {
			for (const route of ['L', 'c']) {
				test(`${kind} certificate via /${route}/`, async () => {
					const d = data[kind];
					const page = await context.newPage();
					const url = route === 'L' ? `${base}/L/${d.token}` : `${base}/c/${d.id}`;
					const csp = watchCsp(page);
					const resp = await page.goto(url);
					assert.equal(resp.status(), 200, `GET ${url}`);
					assert.match(resp.headers()['content-security-policy'],
						/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]{43}='; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/,
						'a strict CSP with the style sheet by its hash');
					assert.equal(resp.headers()['content-language'], lang, 'Content-Language');
					const what = `${lang} ${kind} /${route}/`;
					await page.screenshot({ path: join(SHOTS, `${lang}-${kind}-${route}.png`), fullPage: true });
					const f = await measure(page);
					await page.close();

					assert.equal(f.lang, lang, `${what}: <html lang>`);
					// the current status, in large plain words, first
					assert.ok(f.status && f.status.visible, `${what}: a visible status`);
					assert.equal(f.status.text, w.status[kind], `${what}: status words`);
					assert.equal(f.status.data.status, kind, `${what}: data-status`);
					assert.ok(f.status.fontSize >= 28, `${what}: status font-size >= 28 px, got ${f.status.fontSize}`);
					assert.ok(Number(f.status.fontWeight) >= 700, `${what}: status bold, got ${f.status.fontWeight}`);
					assert.ok(f.status.bottom <= 844, `${what}: status on the first screen, bottom ${f.status.bottom}`);
					assert.ok(f.status.bottom <= f.table.top, `${what}: status above the table`);
					assert.equal(f.firstText.text, f.status.text, `${what}: the status is the first thing on the page`);
					const [r, g, b] = rgb(f.status.color);
					if (kind === 'revoked')
						assert.ok(r >= 150 && g <= 60 && b <= 80, `${what}: revoked in red, got ${f.status.color}`);
					else
						assert.ok(g > r && g > b, `${what}: active in green, got ${f.status.color}`);

					// genuine banner only for a label
					if (route === 'L') {
						assert.ok(f.genuine && f.genuine.visible, `${what}: the genuine banner`);
						assert.ok(f.genuine.text.startsWith(w.genuine),
							`${what}: banner says '${w.genuine}', got '${f.genuine.text}'`);
						assert.match(f.genuine.className, /\bok\b/, `${what}: banner class`);
						assert.ok(f.genuine.top >= f.status.bottom, `${what}: banner below the status`);
						// a genuine label of a revoked certificate must not look like an all-clear
						const [br, bg] = rgb(f.genuine.background);
						if (kind === 'revoked')
							assert.ok(!(bg > br + 8), `${what}: banner not green, got ${f.genuine.background}`);
						else
							assert.ok(bg > br + 8, `${what}: banner green, got ${f.genuine.background}`);
						assert.ok(f.genuine.top < f.table.top, `${what}: banner above the table`);
					} else {
						assert.equal(f.genuine, null, `${what}: no genuine banner without a label`);
					}

					const j = d.json;
					assert.equal(f.stars.text, '★'.repeat(j.level), `${what}: stars`);
					assert.ok(f.stars.visible && f.stars.bottom <= f.table.top, `${what}: stars above the table`);
					const row = (k) => {
						const v = f.rows[w.rows[k]];
						assert.ok(v !== undefined, `${what}: a row '${w.rows[k]}', rows: ${JSON.stringify(f.rows)}`);
						return v;
					};
					assert.equal(row('id'), j.id, `${what}: registration number`);
					assert.ok(row('vendor').includes(j.vendor.name) && row('vendor').includes(j.vendor.code),
						`${what}: vendor '${j.vendor.name}' (${j.vendor.code}), got '${row('vendor')}'`);
					assert.equal(row('product'), j.product, `${what}: product in Japanese`);
					assert.match(row('product'), /[\u3040-\u30ff\u4e00-\u9fff]/, `${what}: product is Japanese text`);
					const models = f.items[w.rows.models];
					assert.deepEqual(models.map((x) => x.text), j.models, `${what}: every model, one an item`);
					// a model number of ordinary length is never split across lines (a longer one may wrap,
					// inside the screen: checkLayout)
					for (const m of models.filter((x) => x.text.length <= 24))
						assert.equal(m.lines, 1, `${what}: model '${m.text}' on one line, not split`);
					assert.equal(row('fw').replace(/\s+/g, ''), j.firmware.covered.replace(/\s+/g, ''),
						`${what}: firmware covered`);
					assert.equal(row('fwRevoked'), j.firmware.revoked.join(', '), `${what}: revoked firmware`);
					assert.equal(row('registered'), j.registered, `${what}: registered`);
					assert.equal(row('expires'), j.expires, `${what}: expires`);
					assert.equal(row('support'), j.support_end, `${what}: support end`);
					checkLayout(f, what);
					checkNav(f, lang, what);
					assert.deepEqual(csp, [], `${what}: no CSP violation`);

					// what it means, in plain words, before the facts
					assert.ok(f.plain && f.plain.visible && f.plain.bottom <= f.table.top, `${what}: plain words above the table`);
					if (kind === 'active')
						assert.equal(f.validUntil && f.validUntil.text, w.validUntil, `${what}: valid until`);
					else
						assert.equal(f.validUntil, null, `${what}: no "valid until" for a revoked certificate`);
					if (kind === 'active')
						assert.equal(f.support && f.support.text, w.supportEnds, `${what}: the vendor's support end`);
					assert.ok(f.atHome && f.atHome.text.includes(w.atHome[kind]),
						`${what}: what it means at home ('${w.atHome[kind]}'), got '${f.atHome && f.atHome.text}'`);

					// the history: every event with its date, and the reason given
					const events = f.history.map((h) => h.event);
					const want = kind === 'revoked' ? ['issue', 'firmware-revoke', 'revoke'] : ['issue', 'firmware-revoke'];
					assert.deepEqual(events, want, `${what}: the history's events`);
					for (const h of f.history) {
						assert.equal(h.date, NOW, `${what}: ${h.event} dated`);
						assert.ok(h.text.includes(w.history[h.event]), `${what}: ${h.event} in words, got '${h.text}'`);
					}
					const fwr = f.history.find((h) => h.event === 'firmware-revoke');
					assert.ok(fwr.text.includes('CVE-2026-1234'), `${what}: the reason of the firmware revocation`);
					if (kind === 'revoked')
						assert.ok(f.history[2].text.includes(CERTS.revoked.revokeReason), `${what}: the revocation's reason`);
				});
			}
		}

		test('a forged label says NOT GENUINE', async () => {
			const page = await context.newPage();
			const url = `${base}/L/${forge(data.active.token)}`;
			const csp = watchCsp(page);
			const resp = await page.goto(url);
			const what = `${lang} forged /L/`;
			await page.screenshot({ path: join(SHOTS, `${lang}-forged-L.png`), fullPage: true });
			const f = await measure(page);
			await page.close();
			assert.equal(resp.status(), 404, `GET ${url}: no certificate at a forged address`);
			assert.match(resp.headers()['content-type'], /^text\/html/, `${what}: a page, not JSON`);
			assert.equal(f.lang, lang, `${what}: <html lang>`);
			checkNav(f, lang, what);
			assert.deepEqual(csp, [], `${what}: no CSP violation`);
			assert.ok(f.genuine && f.genuine.visible, `${what}: a visible verdict`);
			assert.ok(f.genuine.text.startsWith(w.notGenuine),
				`${what}: verdict '${w.notGenuine}', got '${f.genuine.text}'`);
			assert.match(f.genuine.className, /\bbad\b/, `${what}: verdict class`);
			assert.ok(f.reason && f.reason.text.includes(w.forged),
				`${what}: the reason in the page's language ('${w.forged}'), got '${f.reason && f.reason.text}'`);
			assert.equal(f.firstText.text, f.genuine.text, `${what}: the verdict is the first thing on the page`);
			assert.ok(f.genuine.fontSize >= 28, `${what}: verdict font-size >= 28 px, got ${f.genuine.fontSize}`);
			const [r, g, b] = rgb(f.genuine.color);
			assert.ok(r >= 120 && g <= 60 && b <= 80, `${what}: verdict in red, got ${f.genuine.color}`);
			// nothing the forger wrote is shown as if it were true
			assert.equal(f.status, null, `${what}: no status of a certificate`);
			assert.equal(f.stars, null, `${what}: no stars`);
			assert.equal(f.table, null, `${what}: no table`);
			checkLayout(f, what);
		});

		for (const [name, path, status] of [
			['an unknown id', '/c/SM-2020-999999', 404],
			['a malformed id', '/c/SM-20X0-1', 400],
			['an unknown token', '/L/AAAAAAAAAAAAAAAAAAAA', 404],
			['a query the page does not take', () => `/c/${data.active.id}?q=1`, 400],
		]) {
			test(`${name}: an HTML page (${status}) in the page's language, with the way back`, async () => {
				const page = await context.newPage();
				const csp = watchCsp(page);
				const url = base + (typeof path === 'function' ? path() : path);
				const resp = await page.goto(url);
				const what = `${lang} ${name}`;
				await page.screenshot({ path: join(SHOTS, `${lang}-${status}-${name.replace(/ /g, '-')}.png`), fullPage: true });
				const f = await measure(page);
				await page.close();
				assert.equal(resp.status(), status, `GET ${url}`);
				assert.match(resp.headers()['content-type'], /^text\/html; charset=utf-8$/, `${what}: HTML, not JSON`);
				assert.equal(f.lang, lang, `${what}: <html lang>`);
				checkNav(f, lang, what);
				assert.deepEqual(csp, [], `${what}: no CSP violation`);
				const shown = f.error || f.genuine;
				assert.ok(shown && shown.visible, `${what}: says what is wrong`);
				if (status === 404 && name === 'an unknown id')
					assert.equal(f.error.text, w.notFound, `${what}: '${w.notFound}'`);
				assert.equal(f.status, null, `${what}: no certificate status`);
				checkLayout(f, what);
			});
		}
	});
}

// The switch, both ways, at phone size: the browser's language is one, the page follows the link.
describe('the language switch', () => {
	test('ja -> en -> ja on a phone, keeping the path and the way back', async () => {
		const context = await browser.newContext({ ...PHONE, locale: 'ja-JP' });
		const page = await context.newPage();
		const csp = watchCsp(page);
		const start = `${base}/c/${data.revoked.id}`;
		let resp = await page.goto(start);
		assert.equal(resp.headers()['content-language'], 'ja', 'the browser asks for Japanese');
		assert.equal(resp.headers().vary, 'Accept-Language', 'without ?lang= the answer varies with Accept-Language');
		let f = await measure(page);
		assert.equal(f.status.text, WORDS.ja.status.revoked, 'Japanese first');
		const [nav] = await Promise.all([page.waitForNavigation(), page.click('#lang-en')]);
		assert.equal(nav.status(), 200, 'the English page');
		assert.equal(page.url(), `${start}?lang=en`, 'the switch keeps the path');
		assert.equal(nav.headers()['content-language'], 'en', 'English, whatever the browser asks');
		assert.equal(nav.headers().vary, undefined, 'a chosen language does not vary with Accept-Language');
		f = await measure(page);
		assert.equal(f.lang, 'en', '<html lang> en');
		assert.equal(f.status.text, WORDS.en.status.revoked, 'the status in English');
		checkNav(f, 'en', 'after switching to English');
		checkLayout(f, 'after switching to English');
		await page.screenshot({ path: join(SHOTS, 'switch-en.png'), fullPage: true });
		const [back] = await Promise.all([page.waitForNavigation(), page.click('#lang-ja')]);
		assert.equal(back.status(), 200, 'back to Japanese');
		assert.equal(page.url(), `${start}?lang=ja`, 'and the path kept');
		f = await measure(page);
		assert.equal(f.status.text, WORDS.ja.status.revoked, 'the status in Japanese again');
		checkNav(f, 'ja', 'after switching back');
		// on a label's page too
		resp = await page.goto(`${base}/L/${data.active.token}?lang=en`);
		assert.equal(resp.status(), 200, '/L/ takes ?lang=');
		f = await measure(page);
		assert.equal(f.status.text, WORDS.en.status.active, '/L/ in English by ?lang=en');
		checkNav(f, 'en', '/L/?lang=en');
		assert.deepEqual(csp, [], 'no CSP violation on any of these pages');
		await context.close();
	});
});

test('the label PNG carries the same URL (zbarimg, when installed)', (t) => {
	let text;
	try {
		text = execFileSync('zbarimg', ['--raw', '-q', data.active.png], { encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'ignore'] }).trim();
	} catch (e) {
		if (e.code === 'ENOENT') {
			t.skip('zbarimg is not installed');
			return;
		}
		throw e;
	}
	assert.equal(text, `HTTPS://REGISTRY.EXAMPLE.JP/L/${data.active.token}`);
});
