// SPDX-License-Identifier: Apache-2.0
// The installer's on-site record of one home: the design (a home document, devices `planned`), and the labels
// scanned on site. A genuine scan marks the first planned device of its vendor and model that is not yet
// found as installed (its scanned text kept as `label`); a genuine scan of no planned device is an unplanned
// device; a scan that is not genuine is kept as such. The result is a home document again (schema `home`), for
// `starmark home check --report`, which decides the home; the checklist here is what the site shows meanwhile,
// by the home document's own words: missing = planned and not installed, unplanned = installed and not planned.
const ID_OK = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_DEVICES = 1000;

export class Onsite {
	constructor(doc) {
		if (!doc || typeof doc !== 'object' || typeof doc.home !== 'string' || !Array.isArray(doc.devices))
			throw new Error('a home document has "home" and "devices"');
		if (doc.devices.length > MAX_DEVICES)
			throw new Error(`a home has at most ${MAX_DEVICES} devices`);
		for (const [i, d] of doc.devices.entries())
			if (!d || typeof d.id !== 'string' || !ID_OK.test(d.id) || typeof d.vendor !== 'string' || typeof d.model !== 'string')
				throw new Error(`devices[${i}]: id, vendor and model are required`);
		this.doc = structuredClone(doc);
		this.notGenuine = []; // {text, why}
		this.verdicts = new Map(); // device id -> verdict of checkDevice
	}

	/** Record a judged scan (verdict.js judgeLabel's result); returns the device it landed on, or null. */
	scan(text, res) {
		if (!res.genuine) {
			if (!this.notGenuine.some((n) => n.text === text))
				this.notGenuine.push({ text, why: res.reason || res.verdict });
			return null;
		}
		const { vendor, model } = res.claims;
		const same = this.doc.devices.find((d) => d.label === text);
		if (same)
			return same;
		let d = this.doc.devices.find((x) => x.planned && !x.installed && x.vendor === vendor && x.model === model);
		if (!d) {
			if (this.doc.devices.length >= MAX_DEVICES)
				throw new Error(`a home has at most ${MAX_DEVICES} devices`);
			const taken = new Set(this.doc.devices.map((x) => x.id));
			let n = 1;
			while (taken.has(`onsite-${n}`))
				n++;
			d = { id: `onsite-${n}`, vendor, model, firmware: '', planned: false, installed: true };
			this.doc.devices.push(d);
		}
		d.installed = true;
		d.label = text;
		return d;
	}

	/** The checklist: found, missing, unplanned (device lists), not genuine (scans), denied (devices). */
	checklist() {
		const ds = this.doc.devices;
		return {
			found: ds.filter((d) => d.planned && d.installed),
			missing: ds.filter((d) => d.planned && !d.installed),
			unplanned: ds.filter((d) => !d.planned && d.installed),
			notGenuine: this.notGenuine,
			denied: ds.filter((d) => this.verdicts.get(d.id) === 'deny'),
		};
	}

	/** The home document as found on site (what `home check` reads). */
	toJSON() {
		return this.doc;
	}
}
