// SPDX-License-Identifier: Apache-2.0
// The registry search (/): the query and filters live in the URL (a link can be shared, Back works), the
// answer is GET /v1/certs of the same filters; the folding of widths and kana is lib's (the server's).
import { el, fetchJSON, header, href, stars, t } from './site.js';

const FIELDS = ['q', 'level', 'category', 'status'];
const form = document.getElementById('search');

function stateFromURL() {
	const p = new URLSearchParams(location.search);
	const s = {};
	for (const f of FIELDS)
		s[f] = (p.get(f) || '').slice(0, 200);
	const page = Number.parseInt(p.get('page') || '1', 10);
	s.page = Number.isFinite(page) && page > 0 && page <= 1000000 ? page : 1;
	return s;
}

function apiQuery(s, withPage) {
	const p = new URLSearchParams();
	for (const f of FIELDS)
		if (s[f])
			p.set(f, s[f]);
	if (withPage && s.page > 1)
		p.set('page', String(s.page));
	return p.toString();
}

function statusWord(st) {
	return t({ active: 'statusActive', suspended: 'statusSuspended', revoked: 'statusRevoked', expired: 'statusExpired' }[st] || 'statusActive');
}

function row(c) {
	const facts = [
		[t('vendor'), `${c.vendor?.name ?? ''} (${c.vendor?.code ?? ''})`],
		[t('models'), (c.models || []).join(', ')],
		[t('regno'), el('a', { href: href(`/c/${encodeURIComponent(c.id)}`) }, c.id)],
		...(c.scheme_ref ? [[t('schemeRef'), c.scheme_ref]] : []), // a migrated list's own number
		[t('registered'), c.registered || '—'],
		[t('expires'), c.expires || '—'],
	];
	if (c.support_end)
		facts.push([t('supportEnd'), c.support_end]);
	if (c.category)
		facts.push([t('category'), c.category]);
	if (c.url && /^https?:\/\//i.test(c.url)) // the vendor's product page, as the public lists give it
		facts.push([t('productPage'), el('a', { href: c.url, rel: 'noopener noreferrer external' }, c.url)]);
	return el('li', {},
		el('div', {}, stars(c.level), el('div', {}, el('span', { class: `badge ${c.status}` }, statusWord(c.status)))),
		el('div', {}, el('div', { class: 'product' }, c.product || ''),
			el('dl', {}, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))));
}

function pager(s, total, perPage) {
	const nav = document.getElementById('pages');
	const pages = Math.max(1, Math.ceil(total / perPage));
	nav.replaceChildren();
	nav.hidden = pages <= 1;
	nav.setAttribute('aria-label', t('pagination'));
	const link = (p, word) => el('a', { href: href('/', { ...s, page: p > 1 ? p : '' }), 'data-page': p }, word);
	if (s.page > 1)
		nav.append(link(s.page - 1, t('prev')));
	nav.append(el('span', {}, t('pageOf', s.page, pages)));
	if (s.page < pages)
		nav.append(link(s.page + 1, t('next')));
}

async function run(s) {
	const summary = document.getElementById('summary');
	const results = document.getElementById('results');
	summary.textContent = t('loading');
	try {
		const j = await fetchJSON(`/v1/certs?${apiQuery(s, true)}`);
		results.replaceChildren(...j.certificates.map(row));
		summary.textContent = j.total ? t('results', j.total) : t('noResults');
		pager(s, j.total, j.per_page || 50);
		const dl = document.getElementById('downloads');
		const q = apiQuery(s, false);
		dl.replaceChildren(t('downloads'), ' ', el('a', { href: `/v1/certs.csv${q ? `?${q}` : ''}`, download: '' }, t('csv')), ' · ',
			el('a', { href: `/v1/certs.jsonl${q ? `?${q}` : ''}`, download: '' }, t('jsonl')));
		dl.hidden = false;
	} catch (e) {
		results.replaceChildren();
		document.getElementById('pages').hidden = true;
		summary.replaceChildren(el('span', { class: 'error' }, t('failed', e.message)));
	}
}

function fill(s) {
	for (const f of FIELDS)
		form.elements[f].value = s[f];
}

header('/');
document.title = `${t('searchTitle')} — ${t('brand').replace('★ ', '')}`;
form.addEventListener('submit', (ev) => {
	ev.preventDefault();
	const s = { page: 1 };
	for (const f of FIELDS)
		s[f] = form.elements[f].value.trim();
	const url = href('/', { ...s, page: '' });
	history.pushState(null, '', url);
	run(s);
});
document.getElementById('pages').addEventListener('click', (ev) => {
	const a = ev.target.closest('a[data-page]');
	if (!a)
		return;
	ev.preventDefault();
	history.pushState(null, '', a.getAttribute('href'));
	const s = stateFromURL();
	run(s);
	document.getElementById('summary').focus?.();
});
window.addEventListener('popstate', () => {
	const s = stateFromURL();
	fill(s);
	run(s);
});
// The level choices are the scheme's (its trust bundle says how many levels it has; ★–★★★ is only the
// page's first guess): a four-level scheme's ★★★★ can be picked and a link with level=4 selects it.
async function levels() {
	try {
		const n = (await fetchJSON('/v1/trust.json')).levels;
		if (!Number.isInteger(n) || n < 1 || n > 9)
			return;
		const select = form.elements.level;
		const chosen = select.value;
		select.replaceChildren(select.options[0], ...Array.from({ length: n }, (_, i) =>
			el('option', { value: String(i + 1), 'aria-label': t('levelN', i + 1) }, '★'.repeat(i + 1))));
		select.value = chosen;
	} catch {
		// the static ★–★★★ stay; the search itself says when the registry cannot be reached
	}
}

const initial = stateFromURL();
fill(initial);
run(initial);
levels().then(() => {
	// a level the first guess lacked (a link with level=4), unless the user has chosen one meanwhile
	const select = form.elements.level;
	if (select.value === '')
		select.value = stateFromURL().level;
});
