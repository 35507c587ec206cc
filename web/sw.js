// SPDX-License-Identifier: Apache-2.0
// The scanner's service worker (scope /scan): keeps the scanner's page and code so that it opens and works
// with no network after one visit. Network first (a new version shows at once when online), the kept copy
// when the network fails. The registry data (trust chain, snapshot) is not kept here: the page keeps the
// verified bytes in IndexedDB, where their age is shown.
const CACHE = 'starmark-scan-v1';
const PRECACHE = [
	'/scan', '/manifest.webmanifest', '/static/css/site.css', '/static/icons/icon.svg', '/static/icons/icon-192.png',
	'/static/js/site.js', '/static/js/scan.js', '/static/js/store.js', '/static/js/onsite.js', '/static/js/decode-worker.js',
	'/static/vendor/jsQR.js',
	'/static/js/sm/cbor.js', '/static/js/sm/cose.js', '/static/js/sm/trust.js', '/static/js/sm/label.js',
	'/static/js/sm/snapshot.js', '/static/js/sm/version.js', '/static/js/sm/verdict.js',
];

self.addEventListener('install', (ev) => {
	ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
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
			caches.open(CACHE).then((c) => c.put(key, copy));
		}
		return r;
	}).catch(() => caches.match(key).then((r) => r || Response.error())));
});
