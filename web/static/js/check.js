// SPDX-License-Identifier: Apache-2.0
// The resident's retrofit check (/check): may this device join my home, and what becomes of its level?
// The answer is the registry's (POST /v1/home/check?vendor=&model=&firmware=, lib's sm_home_check_retrofits):
// the registry adds the device to the home as `starmark home check --add` adds it (installed, not planned) and
// checks the home as it is too, for the level before. A published policy alone makes a home of the one device.
import { el, fetchJSON, header, href, reasonText, t } from './site.js';

const POLICY_KEYS = ['name', 'default_level', 'levels', 'offline_grace_hours', 'unknown', 'support_warn_days',
	'deny_after_support_end'];
const form = document.getElementById('check');
const answer = document.getElementById('answer');
let policies = [];

async function loadPolicies() {
	try {
		policies = (await fetchJSON('/v1/policies')).policies || [];
	} catch {
		policies = [];
	}
	const sel = form.elements.policy;
	for (const [i, p] of policies.entries())
		sel.append(el('option', { value: String(i) }, p.name));
	const want = new URLSearchParams(location.search).get('policy');
	const at = policies.findIndex((p) => p.name === want);
	if (at >= 0)
		sel.value = String(at);
}

/** The policy as a home document holds it: the published one without its publication facts. */
function policyOf(published) {
	const p = {};
	for (const k of POLICY_KEYS)
		if (published[k] !== undefined)
			p[k] = published[k];
	return p;
}

/** The home to check: the pasted document (a copy), or a home of no device under the chosen policy. */
function homeBefore() {
	const text = form.elements.home.value.trim();
	if (text) {
		if (text.length > (1 << 20))
			throw new Error(t('badHome', 'over 1 MiB'));
		let h;
		try {
			h = JSON.parse(text);
		} catch (e) {
			throw new Error(t('badHome', e.message));
		}
		if (!h || typeof h !== 'object' || !Array.isArray(h.devices))
			throw new Error(t('badHome', 'devices is missing'));
		const i = form.elements.policy.value;
		if (i !== '')
			h.policy = policyOf(policies[Number(i)]);
		return h;
	}
	const i = form.elements.policy.value;
	if (i === '')
		throw new Error(t('needPolicy'));
	return { home: 'retrofit-check', policy: policyOf(policies[Number(i)]), devices: [] };
}

function levelWord(n) {
	return n > 0 ? `${'★'.repeat(n)} (${t('levelN', n)})` : t('none0');
}

function show(res, hadDevices) {
	const rf = res.retrofit;
	const dev = res.devices.find((d) => d.id === rf.devices[0]);
	const v = rf.verdict;
	const head = { allow: 'mayJoin', warn: 'mayJoinWarn', deny: 'mayNotJoin', unknown: 'unknownJoin' }[v];
	const lines = (dev?.reasons || []).map((r) => el('li', { 'data-code': r.code }, reasonText(r)));
	const facts = [];
	if (hadDevices)
		facts.push(rf.level_before === rf.level_after ? t('homeLevelSame', levelWord(rf.level_after)) : t('homeLevel', levelWord(rf.level_before), levelWord(rf.level_after)));
	else
		facts.push(t('homeLevelNew', levelWord(rf.level_after)));
	const support = dev?.certificate?.support_end;
	if (support)
		facts.push(t('supportNote', support));
	const cert = dev?.certificate;
	answer.replaceChildren(el('section', { class: `verdict ${v}`, id: 'verdict', 'data-verdict': v },
		el('h2', {}, t(head)),
		facts.map((f) => el('p', {}, f)),
		lines.length ? el('ul', {}, lines) : null,
		cert ? el('p', {}, el('a', { href: href(`/c/${encodeURIComponent(cert.id)}`) }, `${t('regno')}: ${cert.id}`)) : null));
	answer.querySelector('h2').focus?.();
}

async function check(ev) {
	ev.preventDefault();
	answer.replaceChildren(el('p', {}, t('loading')));
	try {
		const f = form.elements;
		// the retrofit is added by the registry, as `home check --add` adds it (lib's sm_home_add_retrofit)
		const q = new URLSearchParams({ vendor: f.vendor.value.trim(), model: f.model.value.trim(),
			firmware: f.firmware.value.trim() });
		if (f.category.value.trim())
			q.set('category', f.category.value.trim());
		const home = homeBefore();
		show(await fetchJSON(`/v1/home/check?${q}`, { method: 'POST', body: home }), home.devices.length > 0);
	} catch (e) {
		answer.replaceChildren(el('p', { class: 'error', id: 'error' }, e.field ? `${e.field}: ${e.message}` : e.message));
	}
}

let findTimer;
function find() {
	clearTimeout(findTimer);
	findTimer = setTimeout(async () => {
		const q = document.getElementById('find').value.trim();
		const list = document.getElementById('found');
		if (q.length < 2) {
			list.replaceChildren();
			return;
		}
		try {
			const j = await fetchJSON(`/v1/certs?${new URLSearchParams({ q })}`);
			list.replaceChildren(...j.certificates.slice(0, 8).flatMap((c) => (c.models || []).map((m) =>
				el('li', {}, el('span', { class: 'head' }, `${'★'.repeat(c.level)} ${c.vendor.name} ${m}`), ' ',
					el('button', { type: 'button', class: 'secondary', onclick: () => {
						form.elements.vendor.value = c.vendor.code;
						form.elements.model.value = m;
						form.elements.category.value = c.category || '';
						form.elements.firmware.focus();
					} }, t('pick'))))));
		} catch {
			list.replaceChildren();
		}
	}, 250);
}

header('/check');
document.title = `${t('checkTitle')} — ${t('brand').replace('★ ', '')}`;
form.addEventListener('submit', check);
document.getElementById('find').addEventListener('input', find);
loadPolicies();
