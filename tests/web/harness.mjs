// SPDX-License-Identifier: Apache-2.0
// What the browser tests share: a real registry made with the real CLI, a real starmarkd on 127.0.0.1:0,
// Debian's Chromium driven by playwright-core (never a downloaded browser), the page sizes, an axe-core run
// and a watch that no page asks anything of another origin or breaks its CSP.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(HERE, 'screenshots');
export const SM = process.env.STARMARK_BIN;
export const SMD = process.env.STARMARKD_BIN;
export const CHROMIUM = process.env.SM_CHROMIUM || '/usr/bin/chromium';
export const WEB_ROOT = join(HERE, '..', '..', 'web');
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 900 } };
// As on this machine's closed network: no background connections (Playwright makes a fresh profile).
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A temporary directory for one test file, and a CLI bound to its registry. */
export function workspace(prefix) {
	assert.ok(SM && SMD, 'set STARMARK_BIN and STARMARKD_BIN (ctest sets them)');
	const work = mkdtempSync(join(tmpdir(), prefix));
	mkdirSync(SHOTS, { recursive: true });
	const cli = (...args) => execFileSync(SM, args, {
		env: { ...process.env, STARMARK_DB: join(work, 'reg') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
	});
	return { work, cli, db: join(work, 'reg') };
}

/** starmarkd on the registry with the pages of web/ (or of `web`); resolves {proc, base}. */
export function startServer(db, env = {}, web = WEB_ROOT) {
	return new Promise((resolve, reject) => {
		const p = spawn(SMD, ['--db', db, '--listen', '127.0.0.1:0', '--threads', '2', '--web', web], {
			env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
		});
		let seen = '';
		const timer = setTimeout(() => reject(new Error(`starmarkd did not say where it listens: ${seen}`)), 10000);
		const look = (chunk) => {
			seen += chunk;
			const m = /listening on 127\.0\.0\.1:(\d+)/.exec(seen);
			if (m) {
				clearTimeout(timer);
				resolve({ proc: p, base: `http://127.0.0.1:${m[1]}` });
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

export function stopServer(p) {
	return new Promise((resolve) => {
		if (!p || p.exitCode !== null || p.signalCode !== null) {
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

export function launch(extra = []) {
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extra], timeout: 20000 });
}

/**
 * Watch a page: every request must go to `base` (nothing from outside the registry), and no console error
 * (a CSP violation is one) or uncaught exception may happen. Returns the list of problems seen.
 */
export function watch(page, base) {
	const problems = [];
	const origin = new URL(base).origin;
	page.on('request', (r) => {
		const u = new URL(r.url());
		if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== origin)
			problems.push(`request to another origin: ${r.url()}`);
	});
	page.on('console', (m) => {
		if (m.type() === 'error' && !/status of 404|Failed to load resource/.test(m.text()))
			problems.push(`console error: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
	return problems;
}

const AXE = readFileSync(join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA rules). */
export async function axeViolations(page) {
	// injected through the DevTools protocol, not a <script>: the page's own CSP stays as it is
	await page.evaluate(AXE);
	const res = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }));
	return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
}
