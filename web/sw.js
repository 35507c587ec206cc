// SPDX-License-Identifier: Apache-2.0
// The scanner's service worker (scope /scan): keeps the scanner's page and code so that it opens and works
// with no network after one visit. Network first (a new version shows at once when online), the kept copy
// when the network fails. The registry data (trust chain, snapshot) is not kept here: the page keeps the
// verified bytes in IndexedDB, where their age is shown.
const CACHE = 'starmark-scan-v1';
const PRECACHE = [
	'/scan', '/manifest.webmanifest', '/static/css/site.css', '/static/icons/icon.svg', '/static/icons/icon-192.png',
	'/static/js/site.js', '/static/js/scan.js', '/static/js/store.js', '/static/js/onsite.js',
	'/static/vendor/jsQR.js',
	'/static/js/sm/errors.js', '/static/js/sm/cbor.js', '/static/js/sm/cose.js', '/static/js/sm/trust.js', '/static/js/sm/label.js',
	'/static/js/sm/snapshot.js', '/static/js/sm/version.js', '/static/js/sm/verdict.js',
];

// Kept as the page received it, without the transfer's Content-Encoding and Content-Length: the body a
// response gives is already decoded, and a worker's script whose length disagrees with its headers is refused.
async function keep(cache, key, r) {
	const headers = new Headers(r.headers);
	headers.delete('Content-Encoding');
	headers.delete('Content-Length');
	await cache.put(key, new Response(await r.blob(), { status: r.status, statusText: r.statusText, headers }));
}

self.addEventListener('install', (ev) => {
	ev.waitUntil(caches.open(CACHE).then((c) => Promise.all(PRECACHE.map(async (key) => {
		const r = await fetch(key, { cache: 'no-cache' });
		if (!r.ok)
			throw new Error(`${key}: HTTP ${r.status}`);
		await keep(c, key, r);
	}))).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
	ev.waitUntil(caches.keys()
		.then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
		.then(() => self.clients.claim()));
});

self.addEventListener('fetch', (ev) => {
	const url = new URL(ev.request.url);
	if (ev.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/v1/'))
		return; // the API: straight to the network, the page decides what to do without it
	const key = url.pathname === '/scan' ? '/scan' : url.pathname;
	ev.respondWith(fetch(ev.request).then((r) => {
		if (r.ok && PRECACHE.includes(key)) {
			const copy = r.clone();
			ev.waitUntil(caches.open(CACHE).then((c) => keep(c, key, copy)));
		}
		return r;
	}).catch(() => caches.match(key).then((r) => r || Response.error())));
});
