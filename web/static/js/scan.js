// SPDX-License-Identifier: Apache-2.0
// The installer's scanner (/scan): labels verified in this browser against the registry's trust chain,
// followed from the root the installer pinned, and the signed snapshot, both kept in IndexedDB so that the
// scanner works on a site with no network after one visit (the service worker keeps the code). The rules are
// those of lib/ (web/static/js/sm/, held to the C side's answers by the vectors test).
import { el, header, href, t } from './site.js';
import * as store from './store.js';
import { Onsite } from './onsite.js';
import { followChain } from './sm/trust.js';
import { verifySnapshot } from './sm/snapshot.js';
import { checkDevice, judgeLabel } from './sm/verdict.js';

const MAX_CHAIN = 4 << 20;
const MAX_SNAPSHOT = 64 << 20;
const FP = /^[0-9a-f]{64}$/;

const state = { anchor: null, trust: null, snapshot: null, newest: false, fetchedAt: 0, error: null };
let onsite = null;

const now = () => Math.floor(Date.now() / 1000);

async function fetchBytes(path, cap) {
	const r = await fetch(path, { cache: 'no-store' });
	if (!r.ok)
		throw new Error(`${path}: HTTP ${r.status}`);
	const len = Number(r.headers.get('Content-Length') || 0);
	if (len > cap)
		throw new Error(`${path}: ${len} bytes is over ${cap}`);
	const b = new Uint8Array(await r.arrayBuffer());
	if (b.length > cap)
		throw new Error(`${path}: over ${cap} bytes`);
	return b;
}

function age(seconds) {
	const s = Math.max(0, seconds);
	if (s < 120)
		return `${s} s`;
	if (s < 7200)
		return `${Math.round(s / 60)} min`;
	if (s < 172800)
		return `${Math.round(s / 3600)} h`;
	return `${Math.round(s / 86400)} d`;
}

function showState() {
	const p = document.getElementById('data-state');
	const parts = [];
	if (!state.anchor)
		parts.push(t('noAnchor'));
	else if (!state.snapshot)
		parts.push(t('dataNone'));
	else {
		parts.push(t('dataAge', state.snapshot.version, age(now() - state.snapshot.producedAt)));
		if (now() > state.snapshot.nextUpdate)
			parts.push(t('dataStale'));
		if (!state.newest)
			parts.push(t('offline'));
	}
	if (state.error)
		parts.push(`(${state.error})`);
	p.textContent = parts.join(' ');
	p.dataset.version = state.snapshot ? String(state.snapshot.version) : '';
	p.dataset.newest = String(state.newest);
}

/**
 * Verify what is kept (or just fetched): the chain from the pinned root, then the snapshot under it. A chain
 * that does not follow throws; a snapshot that does not verify (expired, below the floor, altered) leaves the
 * chain's trust, so that labels are still judged genuine or not, with their status unknown (lib's rule).
 */
async function adopt(anchor, chain, snap, floor) {
	const trust = await followChain({ fingerprint: anchor }, chain);
	try {
		return { trust, snapshot: await verifySnapshot(snap, trust, { now: now(), floorVersion: floor }), why: null };
	} catch (e) {
		return { trust, snapshot: null, why: e.message };
	}
}

async function refresh() {
	// what decides a label is only ever what verified under the root pinned now: nothing is carried over
	// from another root, or from an earlier refresh whose data no longer verifies
	const anchor = state.anchor;
	Object.assign(state, { trust: null, snapshot: null, newest: false, fetchedAt: 0, error: null });
	if (!anchor) {
		showState();
		return;
	}
	const kept = await store.get('data');
	// the rollback floor is the pinned root's own: another registry's versions say nothing of this one's
	// ('floor' alone: what an older page kept, for the root it had pinned)
	const floorKey = `floor:${anchor}`;
	const floor = (await store.get(floorKey)) || (kept && kept.anchor === anchor && (await store.get('floor'))) || 0;
	let fresh = null;
	try {
		const chain = await fetchBytes('/v1/trust/chain?from=1', MAX_CHAIN);
		const snap = await fetchBytes('/v1/snapshot', MAX_SNAPSHOT);
		fresh = await adopt(anchor, chain, snap, floor);
		if (!fresh.snapshot)
			throw new Error(fresh.why);
		Object.assign(state, fresh, { newest: true, fetchedAt: Date.now() });
		await store.putAll({ data: { anchor, chain, snap, fetchedAt: state.fetchedAt }, [floorKey]: fresh.snapshot.version });
	} catch (e) {
		// no network, or what came does not verify: the kept data, verified again
		let old = null;
		if (kept && kept.anchor === anchor) {
			try {
				old = await adopt(anchor, kept.chain, kept.snap, floor);
			} catch (e2) {
				state.error = e2.message;
			}
		}
		if (old) {
			Object.assign(state, { trust: old.trust, snapshot: old.snapshot, fetchedAt: kept.fetchedAt });
			if (old.why)
				state.error = old.why;
		} else if (fresh) {
			// the registry's chain followed, its snapshot did not verify: genuineness can still be judged
			Object.assign(state, { trust: fresh.trust, newest: true });
		}
		if (navigator.onLine && !(e instanceof TypeError))
			state.error = e.message; // the network answered, but not with something that verifies
	}
	showState();
}

const VERDICT_WORD = {
	'genuine-in-force': 'genuineInForce', 'not-genuine': 'notGenuine', 'claims-differ': 'claimsDiffer',
	'not-in-force': 'notInForce', 'unknown-signer': 'unknownSigner', 'status-unknown': 'statusUnknown', unreadable: 'unreadable',
	'not-checked': 'notChecked',
};

const STATUS_WORD = { active: 'statusActive', suspended: 'statusSuspended', revoked: 'statusRevoked', expired: 'statusExpired' };

const recent = new Map();

async function judge(text) {
	const last = recent.get(text);
	if (last && Date.now() - last < 3000)
		return; // the same label still in front of the camera
	recent.set(text, Date.now());
	let res;
	if (!state.trust) // nothing to check against: never a verdict that names the label genuine
		res = { verdict: 'not-checked', genuine: false, reason: t(state.anchor ? 'dataNone' : 'noAnchor') };
	else
		res = await judgeLabel(text, { trust: state.trust, newest: state.newest, snapshot: state.snapshot }, now());
	const c = res.claims || {};
	const item = el('li', { class: res.verdict, 'data-verdict': res.verdict, 'data-status': res.status || '' },
		el('div', { class: 'head' }, t(VERDICT_WORD[res.verdict] || 'unreadable')),
		res.genuine ? el('div', {}, `${'★'.repeat(c.level || 0)} ${c.vendor || ''} ${c.model || ''} — `,
			el('a', { href: href(`/c/${encodeURIComponent(c.id || '')}`) }, c.id || '')) : null,
		res.status ? el('div', {}, `${t('status')}: ${t(STATUS_WORD[res.status] || 'statusActive')}`) : null,
		res.pastNextUpdate ? el('div', {}, t('pastNextUpdate')) : null,
		res.foreignHost ? el('div', { class: 'warn', 'data-warning': 'host_not_registry' }, t('foreignHost', res.host)) : null,
		res.reason ? el('div', { class: 'hint' }, res.reason) : null);
	const list = document.getElementById('scans');
	list.prepend(item);
	while (list.children.length > 200)
		list.lastChild.remove();
	if (onsite && res.verdict !== 'not-checked') { // an unchecked scan is neither found nor not genuine
		onsite.scan(text, res);
		renderChecklist();
	}
}

function renderChecklist() {
	const box = document.getElementById('checklist');
	if (!onsite) {
		box.replaceChildren();
		document.getElementById('export').hidden = true;
		return;
	}
	const policy = onsite.doc.policy || null;
	for (const d of onsite.doc.devices) {
		if (!d.installed || !d.firmware || !state.snapshot)
			continue;
		try {
			onsite.verdicts.set(d.id, checkDevice({ vendor: d.vendor, model: d.model, firmware: d.firmware, category: d.category },
				policy, state.snapshot, now()).verdict);
		} catch {
			onsite.verdicts.set(d.id, 'unknown'); // a request lib would refuse (a malformed firmware version)
		}
	}
	const cl = onsite.checklist();
	const rows = [];
	const group = (key, items, fn) => {
		rows.push(el('tr', { 'data-group': key }, el('th', { colspan: '3', scope: 'colgroup' }, `${t(key)} (${items.length})`)));
		for (const x of items)
			rows.push(fn(x));
	};
	const dev = (d) => {
		const fw = !d.planned && !d.firmware ? el('input', { type: 'text', maxlength: '64', 'aria-label': `${t('fwPrompt')} ${d.id}`,
			onchange: (ev) => {
				d.firmware = ev.target.value.trim();
				renderChecklist();
			} }) : d.firmware;
		return el('tr', { 'data-id': d.id }, el('td', {}, `${d.id} — ${d.vendor} ${d.model}`), el('td', {}, d.room || ''),
			el('td', {}, fw, onsite.verdicts.has(d.id) ? ` ${onsite.verdicts.get(d.id)}` : ''));
	};
	group('found', cl.found, dev);
	group('missing', cl.missing, dev);
	group('unplanned', cl.unplanned, dev);
	group('notGenuineList', cl.notGenuine, (n) => el('tr', {}, el('td', { colspan: '3' }, n.why)));
	group('denied', cl.denied, dev);
	box.replaceChildren(el('table', { class: 'checklist', id: 'checklist-table' },
		el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('device')), el('th', { scope: 'col' }, t('room')),
			el('th', { scope: 'col' }, t('result')))), el('tbody', {}, rows)));
	document.getElementById('export').hidden = false;
}

function exportHome() {
	const missingFw = onsite.doc.devices.filter((d) => d.installed && !d.firmware);
	if (missingFw.length) {
		alert(`${t('fwPrompt')}: ${missingFw.map((d) => d.id).join(', ')}`);
		return;
	}
	const blob = new Blob([JSON.stringify(onsite.toJSON(), null, 2)], { type: 'application/json' });
	const a = el('a', { href: URL.createObjectURL(blob), download: `${onsite.doc.home}-onsite.json` });
	document.body.append(a);
	a.click();
	a.remove();
}

async function loadDesign(ev) {
	const f = ev.target.files[0];
	if (!f)
		return;
	try {
		if (f.size > (1 << 20))
			throw new Error('over 1 MiB');
		onsite = new Onsite(JSON.parse(await f.text()));
	} catch (e) {
		onsite = null;
		document.getElementById('checklist').replaceChildren(el('p', { class: 'error' }, t('badHome', e.message)));
		return;
	}
	renderChecklist();
}

/* ---- the camera: BarcodeDetector where the browser has one, else jsQR ---- */

// jsQR runs on the page's thread: a frame of at most 800 px takes tens of milliseconds (bench/web_decode.sh),
// and frames are taken 120 ms apart. (A dedicated worker was tried: Chromium 156 refuses a worker script that
// a service worker answers from its cache, so it would not start offline.)
let stream = null;
let busy = false;
let jsQRLoaded = null;

function loadJsQR() {
	jsQRLoaded ??= new Promise((resolve, reject) => {
		const s = el('script', { src: '/static/vendor/jsQR.js' });
		s.onload = resolve;
		s.onerror = () => reject(new Error('the QR decoder could not be loaded'));
		document.head.append(s);
	});
	return jsQRLoaded;
}

/** The text of the QR code in an RGBA frame, or null; and how long it took. */
export function decodeRGBA(data, width, height) {
	const t0 = performance.now();
	const code = window.jsQR(data, width, height, { inversionAttempts: 'dontInvert' });
	return { text: code ? code.data : null, ms: performance.now() - t0 };
}

async function decodeFrame(video, canvas) {
	if (busy || video.readyState < 2)
		return;
	busy = true;
	try {
		if ('BarcodeDetector' in window) {
			const codes = await new window.BarcodeDetector({ formats: ['qr_code'] }).detect(video);
			if (codes[0])
				await judge(codes[0].rawValue);
			return;
		}
		const scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
		canvas.width = Math.round(video.videoWidth * scale);
		canvas.height = Math.round(video.videoHeight * scale);
		const ctx = canvas.getContext('2d', { willReadFrequently: true });
		ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
		const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
		const out = decodeRGBA(img.data, img.width, img.height);
		const ms = document.getElementById('decode-ms');
		ms.dataset.ms = out.ms.toFixed(1);
		ms.textContent = `${out.ms.toFixed(0)} ms`;
		if (out.text)
			await judge(out.text);
	} finally {
		busy = false;
	}
}

async function toggleCamera() {
	const btn = document.getElementById('camera');
	const video = document.getElementById('video');
	if (stream) {
		stream.getTracks().forEach((tr) => tr.stop());
		stream = null;
		video.hidden = true;
		btn.textContent = t('startCamera');
		return;
	}
	try {
		stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 } }, audio: false });
	} catch (e) {
		document.getElementById('decode-ms').textContent = t('cameraError', e.message);
		return;
	}
	if (!('BarcodeDetector' in window))
		await loadJsQR();
	video.srcObject = stream;
	video.hidden = false;
	await video.play();
	btn.textContent = t('stopCamera');
	const canvas = document.createElement('canvas');
	const tick = async () => {
		if (!stream)
			return;
		await decodeFrame(video, canvas);
		setTimeout(tick, 120);
	};
	tick();
}

async function start() {
	header('/scan');
	document.title = `${t('scanTitle')} — ${t('brand').replace('★ ', '')}`;
	if ('serviceWorker' in navigator)
		navigator.serviceWorker.register('/sw.js', { scope: '/scan' }).catch(() => {});
	// the root is the installer's to pin: from the link the scheme owner gave (?anchor=), or typed in
	state.anchor = (await store.get('anchor')) || null;
	const given = (new URLSearchParams(location.search).get('anchor') || '').toLowerCase();
	if (FP.test(given) && !state.anchor) {
		state.anchor = given;
		await store.put('anchor', given);
	}
	document.getElementById('anchor').value = state.anchor || '';
	document.getElementById('settings').open = !state.anchor;
	document.getElementById('anchor-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const v = document.getElementById('anchor').value.trim().toLowerCase();
		if (!FP.test(v))
			return;
		state.anchor = v;
		await store.put('anchor', v);
		await refresh();
	});
	document.getElementById('refresh').addEventListener('click', refresh);
	document.getElementById('camera').addEventListener('click', toggleCamera);
	document.getElementById('paste-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		recent.clear();
		await judge(document.getElementById('paste').value.trim());
	});
	document.getElementById('design').addEventListener('change', loadDesign);
	document.getElementById('export').addEventListener('click', exportHome);
	await refresh();
	document.body.dataset.ready = 'true';
}

start();
