// SPDX-License-Identifier: Apache-2.0
// Errors of starmark's browser modules: a class the code decides on, a field, words for the user.
//
// export class SmError extends Error { code, field }
//   code: 'invalid' (not readable: lib's SM_EINVAL), 'too-big' (over a cap: SM_ETOOBIG),
//         'verify' (readable but does not verify: SM_EVERIFY), 'not-found' (SM_ENOTFOUND).
//   field: what is at fault ('token', 'label', 'snapshot', 'trust', 'protected', ...), as lib names it.
// export function fail(code, field, message) — throws an SmError.
// Decide on `code` (and `field`), never on the message.

export class SmError extends Error {
	constructor(code, field, message) {
		super(message);
		this.name = 'SmError';
		this.code = code;
		this.field = field || '';
	}
}

export function fail(code, field, message) {
	throw new SmError(code, field, message);
}
