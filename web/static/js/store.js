// SPDX-License-Identifier: Apache-2.0
// What the scanner keeps in this browser (IndexedDB, one object store of named values): the pinned root
// fingerprint, the trust chain and snapshot bytes as fetched (verified again every time they are used, never
// trusted because they are stored), the highest snapshot version seen of each pinned root ('floor:<root>',
// the rollback floor) and when.
const DB = 'starmark-scanner';
const STORE = 'kv';

function open() {
	return new Promise((resolve, reject) => {
		const r = indexedDB.open(DB, 1);
		r.onupgradeneeded = () => r.result.createObjectStore(STORE);
		r.onsuccess = () => resolve(r.result);
		r.onerror = () => reject(r.error);
	});
}

async function tx(mode, fn) {
	const db = await open();
	try {
		return await new Promise((resolve, reject) => {
			const t = db.transaction(STORE, mode);
			const out = fn(t.objectStore(STORE));
			t.oncomplete = () => resolve(out?.result);
			t.onerror = () => reject(t.error);
			t.onabort = () => reject(t.error || new Error('aborted'));
		});
	} finally {
		db.close();
	}
}

export const get = (key) => tx('readonly', (s) => s.get(key));
export const put = (key, value) => tx('readwrite', (s) => s.put(value, key));
/** Several values in one transaction: all of them or none (a snapshot is never kept without its chain). */
export const putAll = (entries) => tx('readwrite', (s) => {
	for (const [k, v] of Object.entries(entries))
		s.put(v, k);
});
