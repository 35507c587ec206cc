// SPDX-License-Identifier: Apache-2.0
// What every page shares: the language (?lang=ja|en, else the browser's first of ja/en), the words in both,
// the site header with its ja/en switch, safe element building (text only: every dynamic value is set as
// text, never as HTML) and JSON fetching with a size cap and a timeout.

const WORDS = {
	en: {
		brand: '★ starmark registry', skip: 'Skip to content', nav: 'Pages', navSearch: 'Search', navCheck: 'Retrofit check',
		navScan: 'Label scanner', langSwitch: 'Language',
		// search
		searchTitle: 'Certified products', searchLabel: 'Company, product or model number',
		searchHint: 'Japanese works in any width: ｾｺﾑ, セコム and ＳＥＣＯＭ find the same.', level: 'Level', any: 'Any',
		category: 'Category', status: 'Status', searchButton: 'Search', statusActive: 'Active', statusSuspended: 'Suspended',
		statusRevoked: 'Revoked', statusExpired: 'Expired', results: (n) => `${n} certificate${n === 1 ? '' : 's'}`,
		noResults: 'No certificate matches.', pageOf: (p, n) => `Page ${p} of ${n}`, prev: 'Previous', next: 'Next',
		downloads: 'Open data:', csv: 'CSV', jsonl: 'JSON Lines', pagination: 'Result pages',
		vendor: 'Company', models: 'Model numbers', regno: 'Registration number', schemeRef: 'Scheme registration number', registered: 'Registered', expires: 'Expires',
		supportEnd: 'Support until', productPage: 'Product page', levelN: (n) => `Level ${n}`, loading: 'Loading…', failed: (m) => `The registry did not answer: ${m}`,
		// retrofit check
		checkTitle: 'May this device join my home?', policyStep: '1. Your home’s rules',
		policyPick: 'Your housing company’s policy', policyNone: 'Choose a policy', homeDoc: '…or paste your home document (JSON)',
		homeDocHint: 'From your housing company or installer. It stays in this browser and is sent only to this registry to be checked.',
		deviceStep: '2. The device', findModel: 'Find the model', findHint: 'Type a model number or product name and pick it from the list.',
		vendorCode: 'Company code', model: 'Model number', firmware: 'Firmware version', firmwareHint: 'Shown in the device’s settings or on its box.',
		categoryOpt: 'Category (optional)', checkButton: 'Check', pick: 'Use this model',
		mayJoin: 'Yes — this device may join your home.', mayJoinWarn: 'Yes, with a caution — this device may join your home.',
		mayNotJoin: 'No — this device may not join your home.', unknownJoin: 'Cannot tell — the registry has no usable answer.',
		homeLevel: (a, b) => `Your home’s level: ${a} → ${b} with this device.`, homeLevelSame: (a) => `Your home’s level stays ${a}.`,
		homeLevelNew: (b) => `Your home’s level with this device: ${b}.`, none0: 'none (a device without valid certification)',
		supportNote: (d) => `This product’s support ends on ${d}.`, needPolicy: 'Choose a policy or paste a home document first.',
		badHome: (m) => `The home document cannot be read: ${m}`,
		// scanner
		scanTitle: 'Label scanner', scanIntro: 'Scan the QR code on a device’s certification label. Labels are checked in this browser, also without a network.',
		startCamera: 'Start camera', stopCamera: 'Stop camera', pasteLabel: 'Or type or paste the label’s text', verify: 'Check label',
		dataAge: (v, age) => `Registry data: snapshot ${v}, ${age} old.`, dataNone: 'No registry data yet: open this page once with a network.',
		dataStale: 'The registry data is past its next update: answers may be out of date.', refresh: 'Update now',
		offline: 'Offline: using the data kept in this browser.', trustPin: 'Pinned root key',
		genuineInForce: 'Genuine label — certificate in force', notGenuine: 'NOT GENUINE — do not install', claimsDiffer: 'Label does not match the registry’s record',
		notInForce: 'Genuine label, but the certificate is not in force', unknownSigner: 'Signed by an unknown key — update the registry data',
		statusUnknown: 'Genuine label — status unknown', unreadable: 'Not a certification label',
		notChecked: 'Not checked — nothing to check it against yet',
		pastNextUpdate: 'The data is past its next update (still within the offline grace).',
		foreignHost: (host) => `This code's link leads to ${host}, not to the registry: the registry did not print it. The token in it is genuine, but do not open the link.`,
		batchTitle: 'Home on-site check', loadDesign: 'Load the home’s design (home document)', exportHome: 'Download the on-site home document',
		found: 'Found', missing: 'Missing', unplanned: 'Unplanned', notGenuineList: 'Not genuine', denied: 'Denied',
		device: 'Device', room: 'Room', result: 'Result', fwPrompt: 'Firmware version of this device', cameraError: (m) => `The camera cannot be used: ${m}`,
		scans: 'Scans', camera: 'Camera', save: 'Save',
		anchorHint: 'The registry root key’s fingerprint (64 hex digits) from your scheme owner. Everything is checked against it.',
		noAnchor: 'No root key is pinned: enter the fingerprint your scheme owner gave you.',
	},
	ja: {
		brand: '★ starmark 認証登録', skip: '本文へ移動', nav: 'ページ', navSearch: '検索', navCheck: '後付け機器の確認',
		navScan: 'ラベル読み取り', langSwitch: '言語',
		searchTitle: '認証製品', searchLabel: '事業者名・製品名・型番',
		searchHint: '全角・半角・ひらがなの違いは区別しません（ｾｺﾑ・セコム・ＳＥＣＯＭ は同じ結果）。', level: 'レベル', any: 'すべて',
		category: '種別', status: '状態', searchButton: '検索', statusActive: '有効', statusSuspended: '一時停止',
		statusRevoked: '取り消し', statusExpired: '期限切れ', results: (n) => `${n} 件`,
		noResults: '該当する認証はありません。', pageOf: (p, n) => `${n} ページ中 ${p} ページ目`, prev: '前へ', next: '次へ',
		downloads: 'オープンデータ：', csv: 'CSV', jsonl: 'JSON Lines', pagination: '検索結果のページ',
		vendor: '事業者', models: '型番', regno: '登録番号', schemeRef: '制度の登録番号', registered: '登録日', expires: '有効期限',
		supportEnd: 'サポート期限', productPage: '製品情報', levelN: (n) => `レベル ${n}`, loading: '読み込み中…', failed: (m) => `登録機関から応答がありません：${m}`,
		checkTitle: 'この機器を自宅に追加できますか？', policyStep: '1. 住まいのルール',
		policyPick: '住宅会社のポリシー', policyNone: 'ポリシーを選択', homeDoc: '…または住まいの文書（JSON）を貼り付け',
		homeDocHint: '住宅会社または施工業者から受け取ったものです。このブラウザ内に留まり、確認のためこの登録機関にだけ送られます。',
		deviceStep: '2. 機器', findModel: '型番を探す', findHint: '型番または製品名を入力し、一覧から選んでください。',
		vendorCode: '事業者コード', model: '型番', firmware: 'ファームウェアのバージョン', firmwareHint: '機器の設定画面または箱に記載されています。',
		categoryOpt: '種別（任意）', checkButton: '確認', pick: 'この型番を使う',
		mayJoin: 'はい — この機器は自宅に追加できます。', mayJoinWarn: 'はい（注意あり） — この機器は自宅に追加できます。',
		mayNotJoin: 'いいえ — この機器は自宅に追加できません。', unknownJoin: '判断できません — 登録機関から使える回答がありません。',
		homeLevel: (a, b) => `住まいのレベル：この機器を追加すると ${a} → ${b}`, homeLevelSame: (a) => `住まいのレベルは ${a} のままです。`,
		homeLevelNew: (b) => `この機器を含む住まいのレベル：${b}`, none0: 'なし（有効な認証のない機器があります）',
		supportNote: (d) => `この製品のサポートは ${d} に終了します。`, needPolicy: '先にポリシーを選ぶか、住まいの文書を貼り付けてください。',
		badHome: (m) => `住まいの文書を読み取れません：${m}`,
		scanTitle: 'ラベル読み取り', scanIntro: '機器の認証ラベルの QR コードを読み取ります。確認はこのブラウザ内で行われ、ネットワークがなくても使えます。',
		startCamera: 'カメラを開始', stopCamera: 'カメラを停止', pasteLabel: 'またはラベルの文字列を入力・貼り付け', verify: 'ラベルを確認',
		dataAge: (v, age) => `登録データ：スナップショット ${v}（${age}前）`, dataNone: '登録データがまだありません。一度ネットワークに接続してこのページを開いてください。',
		dataStale: '登録データの更新予定時刻を過ぎています。最新でない可能性があります。', refresh: '今すぐ更新',
		offline: 'オフライン：このブラウザに保存したデータを使っています。', trustPin: '固定したルート鍵',
		genuineInForce: '正規のラベル — 認証は有効です', notGenuine: '正規のラベルではありません — 設置しないでください', claimsDiffer: 'ラベルが登録内容と一致しません',
		notInForce: '正規のラベルですが、認証は有効ではありません', unknownSigner: '不明な鍵による署名 — 登録データを更新してください',
		statusUnknown: '正規のラベル — 状態は不明', unreadable: '認証ラベルではありません',
		notChecked: '未確認 — 確認の基準となるデータがまだありません',
		pastNextUpdate: 'データの更新予定時刻を過ぎています（オフライン猶予期間内）。',
		foreignHost: (host) => `このコードのリンク先は ${host} で、登録機関ではありません（登録機関が印刷したコードではありません）。中の署名は正規ですが、リンクは開かないでください。`,
		batchTitle: '住まいの現場確認', loadDesign: '住まいの設計（住まいの文書）を読み込む', exportHome: '現場確認の結果を住まいの文書として保存',
		found: '確認済み', missing: '未設置', unplanned: '計画外', notGenuineList: '非正規', denied: '不可',
		device: '機器', room: '部屋', result: '結果', fwPrompt: 'この機器のファームウェアのバージョン', cameraError: (m) => `カメラを使えません：${m}`,
		scans: '読み取り結果', camera: 'カメラ', save: '保存',
		anchorHint: '制度運営者から受け取ったルート鍵のフィンガープリント（16進 64 桁）。すべてこれを基準に確認します。',
		noAnchor: 'ルート鍵が固定されていません。制度運営者から受け取ったフィンガープリントを入力してください。',
	},
};

// Reason codes (lib's, the same in every answer) in Japanese; in English the registry's own message is shown,
// which names the certificate and versions.
const REASONS_JA = {
	certified: '認証されています', revoked: '認証が取り消されています', suspended: '認証が一時停止中です',
	expired: '認証の有効期限が切れています', level_below_policy: '認証レベルが住まいのポリシーの求めるレベルに届きません',
	firmware_not_covered: 'このファームウェアのバージョンは認証の対象外です', firmware_revoked: 'このファームウェアのバージョンは取り消されています',
	support_ended: 'メーカーのサポートが終了しています', support_ending: 'メーカーのサポートがまもなく終了します',
	fails_closed: '確認できないため、ポリシーにより許可されません', unknown_allowed: '確認できませんが、ポリシーにより許可されます',
	unknown_model: 'この型番の認証は登録されていません', data_past_next_update: '登録データの更新予定時刻を過ぎています',
	stale_data: '登録データが古すぎます', label_not_genuine: 'ラベルが正規のものではありません', label_mismatch: 'ラベルが機器と一致しません',
	no_statement: '署名付きの状態情報がありません', snapshot_expired: '保存した登録データの期限が切れています', no_data: '登録データがありません',
};

/** A reason of an answer ({code, message}) in the page's language. */
export function reasonText(r) {
	return LANG === 'ja' && REASONS_JA[r.code] ? REASONS_JA[r.code] : r.message || r.code;
}

export function pickLang() {
	const q = new URLSearchParams(location.search).get('lang');
	if (q === 'ja' || q === 'en')
		return q;
	for (const l of navigator.languages || [navigator.language || 'en']) {
		if (l.startsWith('ja'))
			return 'ja';
		if (l.startsWith('en'))
			return 'en';
	}
	return 'en';
}

export const LANG = pickLang();

/** The word `key` in the page's language (a function word is called with args). */
export function t(key, ...args) {
	const w = WORDS[LANG][key] ?? WORDS.en[key];
	if (w === undefined)
		throw new Error(`no word ${key}`);
	return typeof w === 'function' ? w(...args) : w;
}

/** An element with attributes and children (strings become text nodes: never parsed as HTML). */
export function el(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'text')
			e.textContent = v;
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat(Infinity))
		if (c !== null && c !== undefined && c !== false)
			e.append(c instanceof Node ? c : String(c));
	return e;
}

/** A link to `path` that keeps the chosen language. */
export function href(path, params = {}) {
	const u = new URL(path, location.origin);
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== '')
			u.searchParams.set(k, v);
	if (new URLSearchParams(location.search).has('lang'))
		u.searchParams.set('lang', LANG);
	return u.pathname + u.search;
}

const MAX_JSON = 4 << 20;

/** GET or POST JSON from this registry: the parsed body, or an Error whose message says why. */
export async function fetchJSON(path, { method = 'GET', body, timeoutMs = 15000 } = {}) {
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), timeoutMs);
	try {
		const r = await fetch(path, {
			method, signal: ctl.signal, headers: body ? { 'Content-Type': 'application/json' } : {},
			body: body ? JSON.stringify(body) : undefined,
		});
		const text = await r.text();
		if (text.length > MAX_JSON)
			throw new Error('the answer is too large');
		let j;
		try {
			j = JSON.parse(text);
		} catch {
			throw new Error(`HTTP ${r.status}: not JSON`);
		}
		if (!r.ok) {
			const e = new Error(j?.error?.message || `HTTP ${r.status}`);
			e.status = r.status;
			e.field = j?.error?.field;
			throw e;
		}
		return j;
	} catch (e) {
		if (e.name === 'AbortError')
			throw new Error('no answer in time');
		throw e;
	} finally {
		clearTimeout(timer);
	}
}

/** The site header: brand, the three pages (the current one marked), the ja/en switch. */
export function header(current) {
	document.documentElement.lang = LANG;
	const pages = [['/', 'navSearch'], ['/check', 'navCheck'], ['/scan', 'navScan']];
	const langLink = (l, name) => {
		const u = new URL(location.href);
		u.searchParams.set('lang', l);
		return el('a', { href: u.pathname + u.search, lang: l, hreflang: l, 'aria-current': l === LANG ? 'true' : null }, name);
	};
	const h = el('header', { class: 'site' },
		el('a', { class: 'brand', href: href('/') }, t('brand')),
		el('nav', { 'aria-label': t('nav') }, el('ul', {}, pages.map(([p, k]) =>
			el('li', {}, el('a', { href: href(p), 'aria-current': p === current ? 'page' : null }, t(k)))))),
		el('div', { class: 'lang', role: 'group', 'aria-label': t('langSwitch') }, langLink('ja', '日本語'), langLink('en', 'English')));
	document.querySelector('header.site')?.replaceWith(h);
	for (const e of document.querySelectorAll('[data-i18n]'))
		e.textContent = t(e.dataset.i18n);
	for (const e of document.querySelectorAll('[data-i18n-placeholder]'))
		e.placeholder = t(e.dataset.i18nPlaceholder);
}

/** ★ repeated `level` times, read out as "Level N". */
export function stars(level) {
	return el('span', { class: 'stars', role: 'img', 'aria-label': t('levelN', level) }, '★'.repeat(Math.max(0, Math.min(level, 9))));
}
