// ui-keys.mjs: what the key bar, the one-shot modifiers and the compose
// box send, and the "2 min ago" words (src/ui-keys.js, src/ui-dom.js), in
// plain node.  Run by itself (prints TAP) or from ui-smoke.mjs.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keySeq, applyMods, ctrlChar, composeBytes } from
    '../src/ui-keys.js';
import { since } from '../src/ui-dom.js';

const J = JSON.stringify;

export function keyChecks(ok) {
	const eq = (got, want, what) => ok(got === want, what,
	    'got ' + J(got) + ', want ' + J(want));
	eq(keySeq('esc'), '\x1b', 'Esc is ESC');
	eq(keySeq('tab'), '\t', 'Tab is HT');
	eq(['up', 'down', 'right', 'left'].map((k) => keySeq(k)).join(''),
	    '\x1b[A\x1b[B\x1b[C\x1b[D', 'arrows are CSI A B C D');
	eq(keySeq('left', { ctrl: true }) + keySeq('up', { alt: true }) +
	    keySeq('down', { ctrl: true, alt: true }),
	    '\x1b[1;5D\x1b[1;3A\x1b[1;7B', 'arrows with Ctrl, Alt, both');
	eq(['|', '/', '~', '-'].map((k) => keySeq(k)).join(''), '|/~-',
	    'the punctuation keys are themselves');
	eq(keySeq('c', { ctrl: true }), '\x03', 'Ctrl+c is 0x03');
	eq(keySeq('C', { ctrl: true }), '\x03', 'Ctrl+C is 0x03 too');
	eq(keySeq('x', { alt: true }), '\x1bx', 'Alt+x is ESC x');
	eq(keySeq('c', { ctrl: true, alt: true }), '\x1b\x03',
	    'Ctrl+Alt+c is ESC 0x03');
	eq(keySeq('esc', { alt: true }), '\x1b\x1b', 'Alt+Esc is ESC ESC');
	eq([' ', '[', '\\', ']', '/', '?'].map(ctrlChar).join(''),
	    '\x00\x1b\x1c\x1d\x1f\x7f', 'Ctrl with space and punctuation');
	eq(ctrlChar('é'), 'é', 'Ctrl leaves other characters alone');
	eq(applyMods('ls', { ctrl: true }), '\x0cs',
	    'a latched Ctrl applies to the first key only');
	eq(applyMods('\x1b[A', { alt: true }), '\x1b[1;3A',
	    'a latched Alt with a typed arrow');
	eq(applyMods('\x1bOD', { ctrl: true }), '\x1b[1;5D',
	    'a latched Ctrl with an application-mode arrow');
	eq(applyMods('\r', { ctrl: true }), '\r', 'Ctrl leaves Enter alone');
	eq(applyMods('😀x', { alt: true }), '\x1b😀x',
	    'Alt before a character outside the BMP');
	eq(applyMods('x', {}), 'x', 'no modifiers: unchanged');
	eq(composeBytes('echo hi'), 'echo hi\r', 'compose: text then CR');
	eq(composeBytes('a\nb\r\nc'), 'a\rb\rc\r',
	    'compose: lines joined by CR');
	eq(composeBytes(''), '\r', 'compose: empty is Enter');
	eq(since(3000), 'just now', '3 s: just now');
	eq(since(45000), '45 s ago', '45 s');
	eq(since(125000), '2 min ago', '125 s: 2 min ago');
	eq(since(3 * 3600e3), '3 h ago', '3 h');
	eq(since(86400e3 + 5), 'yesterday', '1 day: yesterday');
	eq(since(3 * 86400e3), '3 days ago', '3 days');
	eq(since(undefined), '', 'no idle time: nothing');
}

if (process.argv[1] && path.resolve(process.argv[1]) ===
    fileURLToPath(import.meta.url)) {
	let n = 0, bad = 0;
	keyChecks((cond, what, detail) => {
		n++;
		console.log((cond ? 'ok ' : 'not ok ') + n + ' - ' + what);
		if (!cond) {
			bad++;
			console.log('#   ' + detail);
		}
		return cond;
	});
	console.log('1..' + n);
	process.exit(bad === 0 ? 0 : 1);
}
