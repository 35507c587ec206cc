// SPDX-License-Identifier: Apache-2.0
// Driven by bench/web_decode.sh: times the scanner's decodeRGBA in Chromium on a label frame and an empty one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, startServer, stopServer } from '../tests/web/harness.mjs';

const work = process.env.BENCH_WORK;
const frames = Number(process.env.BENCH_FRAMES || 60);
const s = await startServer(join(work, 'reg'));
const browser = await launch();
try {
	const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
	await page.goto(`${s.base}/scan`);
	await page.waitForSelector('body[data-ready=true]');
	const b64 = (f) => readFileSync(join(work, f)).toString('base64');
	const res = await page.evaluate(async ({ label, empty, n }) => {
		const { decodeRGBA } = await import('/static/js/scan.js');
		await new Promise((ok, no) => {
			const sc = document.createElement('script');
			sc.src = '/static/vendor/jsQR.js';
			sc.onload = ok;
			sc.onerror = no;
			document.head.append(sc);
		});
		const frame = async (png) => {
			const bytes = Uint8Array.from(atob(png), (ch) => ch.charCodeAt(0)); // (a data: fetch is outside the CSP)
			const img = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
			const scale = Math.min(1, 800 / Math.max(img.width, img.height)); // as scan.js scales a camera frame
			const c = new OffscreenCanvas(Math.round(img.width * scale), Math.round(img.height * scale));
			const ctx = c.getContext('2d', { willReadFrequently: true });
			ctx.drawImage(img, 0, 0, c.width, c.height);
			return ctx.getImageData(0, 0, c.width, c.height);
		};
		const time = (img) => {
			const ms = [];
			let text = null;
			for (let i = 0; i < n; i++) {
				const copy = new Uint8ClampedArray(img.data);
				const out = decodeRGBA(copy, img.width, img.height);
				ms.push(out.ms);
				text = out.text;
			}
			ms.sort((a, b) => a - b);
			return { median: ms[Math.floor(ms.length / 2)], text, w: img.width, h: img.height };
		};
		return { label: time(await frame(label)), empty: time(await frame(empty)) };
	}, { label: b64('frame.png'), empty: b64('empty.png'), n: frames });
	if (!res.label.text || !/\/L\//.test(res.label.text))
		throw new Error(`the label frame did not decode: ${res.label.text}`);
	const ratio = res.label.median / 50;
	console.log(`frame ${res.label.w}x${res.label.h}: decode median ${res.label.median.toFixed(1)} ms over ${frames} frames; ` +
		`reference (no code in the frame) ${res.empty.median.toFixed(1)} ms; label/reference ${(res.label.median / res.empty.median).toFixed(2)}`);
	console.log(`RESULT web_decode ${ratio.toFixed(2)} ${ratio < 1 ? 'PASS' : 'FAIL'} (median / 50 ms budget)`);
	process.exitCode = ratio < 1 ? 0 : 1;
} finally {
	await browser.close();
	await stopServer(s.proc);
}
