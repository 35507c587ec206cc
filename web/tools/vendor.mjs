// SPDX-License-Identifier: Apache-2.0
// Copies the third-party files the pages use from node_modules (npm ci, this lock file) into static/vendor/,
// which starmarkd serves: no page loads anything from outside the registry. Run by `npm ci` (postinstall).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILES = [
	// the QR decoder where the browser has no BarcodeDetector (Linux desktop, Firefox, Safari); Apache-2.0
	['node_modules/jsqr/dist/jsQR.js', 'static/vendor/jsQR.js'],
	['node_modules/jsqr/LICENSE', 'static/vendor/jsQR.LICENSE.txt'],
];
mkdirSync(join(WEB, 'static/vendor'), { recursive: true });
for (const [from, to] of FILES)
	copyFileSync(join(WEB, from), join(WEB, to));
