// ui-keys.js: what the key bar and the one-shot Ctrl and Alt modifiers send.
// Bytes are what a terminal (xterm) sends; the server parses MSG_INPUT into
// keys and encodes them again for the program's modes.

export const ESC = '\x1b';

const ARROWS = { up: 'A', down: 'B', right: 'C', left: 'D' };

/* Ctrl with one character, as xterm and tmux map it; others unchanged. */
export function ctrlChar(ch) {
	const c = ch.charCodeAt(0);
	if ((c >= 0x61 && c <= 0x7a) || (c >= 0x40 && c <= 0x5f))
		return String.fromCharCode(c & 0x1f);	/* a-z, @ A-Z [ \ ] ^ _ */
	switch (ch) {
	case ' ': case '2': return '\x00';
	case '3': return '\x1b';
	case '4': case '|': return '\x1c';
	case '5': return '\x1d';
	case '6': case '~': return '\x1e';
	case '7': case '/': case '-': return '\x1f';
	case '8': case '?': return '\x7f';
	default: return ch;
	}
}

function modParam(mods) {
	return 1 + (mods.alt ? 2 : 0) + (mods.ctrl ? 4 : 0);
}

/* One key-bar key: 'esc', 'tab', 'up', 'down', 'left', 'right' or a
 * character; mods = {ctrl, alt}. */
export function keySeq(key, mods = {}) {
	if (key in ARROWS) {
		const m = modParam(mods);
		return m === 1 ? ESC + '[' + ARROWS[key] :
		    ESC + '[1;' + m + ARROWS[key];
	}
	let s;
	if (key === 'esc')
		s = ESC;
	else if (key === 'tab')
		s = '\t';
	else
		s = mods.ctrl ? ctrlChar(key) : key;
	return mods.alt ? ESC + s : s;
}

/* Apply latched modifiers to what the terminal typed (term.onData): to
 * the first key only; an arrow sequence gets the modifier parameter. */
export function applyMods(data, mods) {
	if (!data || (!mods.ctrl && !mods.alt))
		return data;
	const arrow = /^\x1b[[O]([ABCD])/.exec(data);
	if (arrow !== null) {
		const name = Object.keys(ARROWS).find((k) =>
		    ARROWS[k] === arrow[1]);
		return keySeq(name, mods) + data.slice(3);
	}
	const first = String.fromCodePoint(data.codePointAt(0));
	const rest = data.slice(first.length);
	if (first === '\r' || first === '\x7f' || first === '\t' ||
	    first === ESC)
		return (mods.alt ? ESC : '') + first + rest;
	return keySeq(first, mods) + rest;
}

/* The compose box's text as typed input: lines joined by CR, then Enter. */
export function composeBytes(text) {
	return text.replace(/\r\n|\r|\n/g, '\r') + '\r';
}
