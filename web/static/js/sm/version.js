// SPDX-License-Identifier: Apache-2.0
// Firmware versions and coverage specs, as lib/version.c (Debian's version ordering; that file says why).
//
// export const VERSION_MAX = 64, FWSPEC_MAX = 4096, FWSPEC_MAX_ITEMS = 128
// export function validateVersion(v) — throws SmError 'invalid' (field 'firmware') naming the byte at fault
// export function compareVersions(a, b) -> -1 | 0 | 1 (dpkg's verrevcmp over epoch, upstream, revision)
// export function parseFwSpec(text) -> spec (items of one exact version or one or two bounds); SmError 'invalid' /
//     'too-big' (field 'firmware') naming the item
// export function covers(spec, version) -> boolean
import { fail } from './errors.js';

export const VERSION_MAX = 64;
export const FWSPEC_MAX = 4096;
export const FWSPEC_MAX_ITEMS = 128;

const isDigit = (c) => c >= 48 && c <= 57;
const isAlpha = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isSpace = (ch) => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\v' || ch === '\f';

function versionProblem(v) {
	if (v.length === 0) return 'is empty';
	if (v.length > VERSION_MAX) return `'${v}' is longer than ${VERSION_MAX} bytes`;
	for (let i = 0; i < v.length; i++) {
		const c = v.charCodeAt(i);
		if (!(c > 0x20 && c < 0x7f) || c === 44 || c === 60 || c === 62 || c === 61) {
			return `'${v}' has '${v[i]}' (0x${c.toString(16).padStart(2, '0')}) at offset ${i}: a version is printable ASCII without space, ',', '<', '>' or '='`;
		}
	}
	return null;
}

export function validateVersion(v) {
	if (typeof v !== 'string') fail('invalid', 'firmware', 'firmware version is missing');
	const why = versionProblem(v.length > VERSION_MAX + 1 ? v.slice(0, VERSION_MAX + 1) : v);
	if (why) fail('invalid', 'firmware', `firmware version ${why}`);
}

function order(c) {
	if (c === 0 || isDigit(c)) return 0;
	if (isAlpha(c)) return c;
	if (c === 126) return -1; // '~'
	return c + 256;
}

function verrevcmp(a, b) {
	const at = (s, i) => (i < s.length ? s.charCodeAt(i) : 0);
	let i = 0;
	let j = 0;
	while (i < a.length || j < b.length) {
		while ((i < a.length && !isDigit(at(a, i))) || (j < b.length && !isDigit(at(b, j)))) {
			const ac = order(at(a, i));
			const bc = order(at(b, j));
			if (ac !== bc) return Math.sign(ac - bc);
			i++;
			j++;
		}
		while (at(a, i) === 48) i++;
		while (at(b, j) === 48) j++;
		let first = 0;
		while (isDigit(at(a, i)) && isDigit(at(b, j))) {
			if (!first) first = at(a, i) - at(b, j);
			i++;
			j++;
		}
		if (isDigit(at(a, i))) return 1;
		if (isDigit(at(b, j))) return -1;
		if (first) return Math.sign(first);
	}
	return 0;
}

function split(v) {
	let epoch = '';
	let rest = v;
	const colon = v.indexOf(':');
	if (colon > 0 && /^[0-9]+$/.test(v.slice(0, colon))) {
		epoch = v.slice(0, colon);
		rest = v.slice(colon + 1);
	}
	const dash = rest.lastIndexOf('-');
	return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

export function compareVersions(a, b) {
	const pa = split(a || '');
	const pb = split(b || '');
	for (let k = 0; k < 3; k++) {
		const c = verrevcmp(pa[k], pb[k]);
		if (c) return c;
	}
	return 0;
}

const OPS = { '>=': 'ge', '>': 'gt', '<=': 'le', '<': 'lt' };
const isLower = (op) => op === 'ge' || op === 'gt';
const isUpper = (op) => op === 'le' || op === 'lt';

export function parseFwSpec(text) {
	if (typeof text !== 'string') fail('invalid', 'firmware', 'firmware spec is missing');
	if (new TextEncoder().encode(text).length > FWSPEC_MAX) fail('too-big', 'firmware', `firmware spec is longer than ${FWSPEC_MAX} bytes`);
	if (!text.split('').some((ch) => !isSpace(ch))) {
		fail('invalid', 'firmware', 'firmware spec is empty: give versions or ranges such as ">=1.0 <2.0, 2.1.3"');
	}
	const items = [];
	let textLen = 0;
	const parts = text.split(',');
	for (let index = 1; index <= parts.length; index++) {
		const raw = parts[index - 1].replace(/^[ \t\r\n\v\f]+|[ \t\r\n\v\f]+$/g, '');
		const bad = (code, what) => fail(code, 'firmware', `firmware spec: item ${index} ('${raw}') ${what}`);
		if (index > FWSPEC_MAX_ITEMS) fail('too-big', 'firmware', `firmware spec: item ${index} is past the limit of ${FWSPEC_MAX_ITEMS} items`);
		if (raw === '') fail('invalid', 'firmware', `firmware spec: item ${index} is empty (two commas in a row, or a comma at an end)`);
		const tokens = raw.split(/[ \t\r\n\v\f]+/);
		if (tokens.length > 2) bad('invalid', 'has more than two parts: an item is one exact version or one or two bounds');
		const bounds = tokens.map((tok) => {
			const m = /^[<>=]*/.exec(tok)[0];
			const op = m === '' ? 'eq' : OPS[m];
			if (!op) bad('invalid', `has a bad operator: '${m}' is not an operator: use >=, >, <=, < or, for an exact version, none ("1.2")`);
			const v = tok.slice(m.length);
			if (v === '') bad('invalid', `has an operator without a version: '${tok}' must be directly followed by a version`);
			const why = versionProblem(v);
			if (why) bad('invalid', `has a bad version: ${why}`);
			return { op, v };
		});
		if (bounds.length === 2) {
			if (bounds[0].op === 'eq' || bounds[1].op === 'eq') bad('invalid', "mixes an exact version with a bound: write them as two items separated by ','");
			if (isUpper(bounds[0].op) && isLower(bounds[1].op)) bounds.reverse();
			if (!isLower(bounds[0].op) || !isUpper(bounds[1].op)) bad('invalid', 'has two bounds on the same side: a range needs one lower (>=, >) and one upper (<=, <) bound');
			const c = compareVersions(bounds[0].v, bounds[1].v);
			if (c > 0) bad('invalid', 'has its lower bound above its upper bound');
			if (c === 0 && (bounds[0].op === 'gt' || bounds[1].op === 'lt')) bad('invalid', 'covers no version: an exclusive bound equals the other bound');
		}
		const len = bounds.length - 1 + bounds.reduce((s, b) => s + (b.op === 'eq' ? 0 : b.op.length === 2 && (b.op === 'ge' || b.op === 'le') ? 2 : 1) + b.v.length, 0);
		textLen += (items.length ? 2 : 0) + len;
		if (textLen > FWSPEC_MAX) bad('too-big', `takes the canonical spec past the limit of ${FWSPEC_MAX} bytes`);
		items.push(bounds);
	}
	return { items };
}

function holds(b, version) {
	const c = compareVersions(version, b.v);
	switch (b.op) {
	case 'eq': return c === 0;
	case 'ge': return c >= 0;
	case 'gt': return c > 0;
	case 'le': return c <= 0;
	default: return c < 0;
	}
}

export function covers(spec, version) {
	return typeof version === 'string' && spec.items.some((bounds) => bounds.every((b) => holds(b, version)));
}
