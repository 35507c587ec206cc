// SPDX-License-Identifier: Apache-2.0
// Decodes camera frames off the page's thread with jsQR (served from /static/vendor, from npm's lock file).
// In: {id, width, height, data: Uint8ClampedArray RGBA}. Out: {id, text | null, ms}.
/* global jsQR */
importScripts('/static/vendor/jsQR.js');

self.onmessage = (ev) => {
	const { id, width, height, data } = ev.data;
	const t0 = performance.now();
	let text = null;
	if (width > 0 && height > 0 && width * height <= 4096 * 4096 && data.length === width * height * 4) {
		const code = jsQR(data, width, height, { inversionAttempts: 'dontInvert' });
		text = code ? code.data : null;
	}
	self.postMessage({ id, text, ms: performance.now() - t0 });
};
