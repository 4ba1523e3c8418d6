// ui-term.js: the terminal view.  One Link per open terminal; xterm.js
// draws what the server sends (MSG_OUTPUT); what is typed goes back as
// MSG_INPUT bytes.  On every (re)connect the view attaches again with its
// resume token: a fresh terminal asks for the scrollback too, a terminal
// that already shows the session asks only for what it missed, so nothing
// is written twice.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { Link } from './link.js';
import { MSG, resizePayload } from './proto.js';
import { h, noFocus, text, errorText } from './ui-dom.js';
import { statusChip, setChip } from './ui-status.js';
import { keySeq, applyMods, composeBytes } from './ui-keys.js';
import { createDictation } from './ui-voice.js';
import { sweepStyles } from './ui-csp.js';
import { icon } from './ui-icons.js';
import { touchScroll } from './ui-touch.js';
import { linkOptions, resumeToken, forgetResume, loadPrefs,
    savePrefs } from './ui-store.js';

export const SCROLLBACK = 10000;
export const MONO = 'ui-monospace, "SF Mono", SFMono-Regular, Menlo, ' +
    '"Cascadia Mono", "Roboto Mono", "Noto Sans Mono", "DejaVu Sans Mono", ' +
    '"Liberation Mono", Consolas, "WenQuanYi Micro Hei Mono", monospace';
export const FONT_SIZES = [10, 11, 12, 13, 14, 15, 16, 18];
export const DEFAULT_FONT = 13;

const THEME = {
	background: '#0b0e14',
	foreground: '#d8dee9',
	cursor: '#e6edf3',
	cursorAccent: '#0b0e14',
	selectionBackground: '#3b4a63'
};

const KEYS = [
	['esc', 'Esc', 'Escape'], ['tab', 'Tab', 'Tab'],
	['ctrl', 'Ctrl', 'Control (next key)'],
	['alt', 'Alt', 'Alt (next key)'],
	['left', '←', 'Left'], ['up', '↑', 'Up'], ['down', '↓', 'Down'],
	['right', '→', 'Right'],
	['|', '|', 'Bar'], ['/', '/', 'Slash'], ['~', '~', 'Tilde'],
	['-', '-', 'Minus']
];

/* Close codes and reasons after which only a new pairing helps. */
function needsPairing(reason) {
	return /revoked|unknown phone|not paired|does not match|pair it again/i
	    .test(reason || '');
}

/* Why we were detached, in the phone's words. */
function detachWords(reason) {
	if (!reason)
		return 'detached';
	if (/replaced by a reconnect/.test(reason))
		return 'opened again in another tab or window';
	return reason;
}

export function fontSize() {
	const n = loadPrefs().fontSize;
	return FONT_SIZES.includes(n) ? n : DEFAULT_FONT;
}

export function termView(app, id) {
	const utf8 = new TextEncoder();
	const known = (app.sessions || []).find((s) => String(s.id) === id);
	const chip = statusChip();
	const title = h('span', { class: 'title' }, known ? known.name :
	    'session ' + id);
	const banner = h('div', { class: 'banner', role: 'status' });
	const host = h('div', { class: 'term-host' });
	const interim = h('div', { class: 'interim', 'aria-live': 'polite' });
	const compose = h('textarea', { class: 'compose', rows: '1',
	    placeholder: 'Type here; Enter sends', autocapitalize: 'off',
	    autocomplete: 'off', spellcheck: 'false', enterkeyhint: 'send',
	    'aria-label': 'Compose a line to send' });
	const send = noFocus(h('button', { type: 'button', class: 'send',
	    'aria-label': 'Send', title: 'Send (Enter)' }, icon('send')));
	const mic = noFocus(h('button', { type: 'button', class: 'mic',
	    'aria-label': 'Dictate', title: 'Dictate' }, icon('mic')));
	const mods = { ctrl: false, alt: false };
	const modBtn = {};
	const keybar = h('div', { class: 'keybar', role: 'toolbar',
	    'aria-label': 'Keys' });
	let term = null, fit = null, link = null, ro = null, untouch = null;
	let leaving = false, ended = false, received = false, attached = false;
	let fitQueued = false;
	const token = resumeToken(id);

	for (const [k, label, name] of KEYS) {
		const b = noFocus(h('button', { type: 'button', class: 'key',
		    'data-key': k, 'aria-label': name }, label));
		if (k === 'ctrl' || k === 'alt') {
			b.setAttribute('aria-pressed', 'false');
			modBtn[k] = b;
			b.addEventListener('click', () => latch(k, !mods[k]));
		} else {
			b.addEventListener('click', () => {
				const m = { ctrl: mods.ctrl, alt: mods.alt };
				clearMods();
				sendInput(keySeq(k, m));
			});
		}
		keybar.append(b);
	}

	const smaller = noFocus(h('button', { type: 'button', class: 'icon',
	    'aria-label': 'Smaller text', title: 'Smaller text',
	    onclick: () => zoom(-1) }, 'A−'));
	const bigger = noFocus(h('button', { type: 'button', class: 'icon',
	    'aria-label': 'Larger text', title: 'Larger text',
	    onclick: () => zoom(1) }, 'A+'));
	const el = h('div', { class: 'view term' },
	    h('header', { class: 'topbar' },
	    h('button', { type: 'button', class: 'icon back',
	    'aria-label': 'Back to sessions', title: 'Sessions',
	    onclick: () => app.navigate('#home') }, icon('back')),
	    title, chip, smaller, bigger),
	    banner, host, keybar, interim,
	    h('div', { class: 'compose-row' }, mic, compose, send));

	function latch(k, on) {
		mods[k] = on;
		modBtn[k].classList.toggle('latched', on);
		modBtn[k].setAttribute('aria-pressed', on ? 'true' : 'false');
	}

	function clearMods() {
		if (mods.ctrl)
			latch('ctrl', false);
		if (mods.alt)
			latch('alt', false);
	}

	function say(msg, kind) {
		banner.textContent = msg || '';
		banner.dataset.kind = kind || '';
	}

	function sendInput(s) {
		if (s === '' || link === null)
			return false;
		if (link.status !== 'connected') {
			say('Not connected: that input was not sent.', 'warn');
			return false;
		}
		try {
			link.send(MSG.INPUT, utf8.encode(s));
		} catch (e) {
			say('Not sent: ' + (e.message || e), 'warn');
			return false;
		}
		return true;
	}

	function sendResize() {
		if (attached && link.status === 'connected')
			try {
				link.send(MSG.RESIZE, resizePayload(term.cols,
				    term.rows));
			} catch (e) {
				/* the next attach sends the size */
			}
	}

	function doFit() {
		fitQueued = false;
		if (term === null || host.clientWidth < 10 ||
		    host.clientHeight < 10)
			return;
		try {
			fit.fit();
		} catch (e) {
			/* not measurable yet */
		}
	}

	function queueFit() {
		if (fitQueued)
			return;
		fitQueued = true;
		requestAnimationFrame(doFit);
	}

	function zoom(d) {
		const i = FONT_SIZES.indexOf(fontSize());
		const n = FONT_SIZES[Math.max(0, Math.min(FONT_SIZES.length - 1,
		    (i < 0 ? FONT_SIZES.indexOf(DEFAULT_FONT) : i) + d))];
		savePrefs(Object.assign(loadPrefs(), { fontSize: n }));
		if (term !== null) {
			term.options.fontSize = n;
			doFit();
		}
	}

	/* The session ended or we were detached: say so at home. */
	function end(msg) {
		if (ended || leaving)
			return;
		ended = true;
		forgetResume(id);
		app.navigate('#home', msg);
	}

	async function attach() {
		if (leaving || ended)
			return;
		attached = false;
		doFit();
		const fresh = !received;
		const extra = { tty: { cols: term.cols, rows: term.rows },
		    scrollback: true, resume: token };
		if (fresh)
			extra.history = SCROLLBACK;
		let r;
		try {
			r = await link.command(['attach-session', '-t', '$' + id],
			    extra);
		} catch (e) {
			return;	/* the link dropped: the next 'open' retries */
		}
		if (leaving || ended)
			return;
		if (!r.ok) {
			end(title.textContent + ': ' + errorText(r.error,
			    'could not attach'));
			return;
		}
		attached = true;
		const rep = r.reply || {};
		if (typeof rep.session === 'string' && rep.session !== '')
			title.textContent = rep.session;
		say('');
		if (term.cols !== extra.tty.cols || term.rows !== extra.tty.rows)
			sendResize();
	}

	function onStatus(e) {
		const { status, reason } = e.detail || {};
		setChip(chip, status, reason);
		if (status !== 'connected')
			attached = false;
		if (status === 'connected')
			say('');
		else if (status === 'reconnecting')
			say('Connection lost: reconnecting…', 'warn');
		else if (status === 'offline')
			say('Your laptop is offline: waiting for it…', 'warn');
		else if (status === 'closed' && !leaving) {
			say('Closed: ' + (reason || 'the connection ended'),
			    'error');
			if (needsPairing(reason))
				banner.append(' ', h('button', { type: 'button',
				    onclick: () => app.forget(false) },
				    'Pair again'));
		}
	}

	function onFrame(e) {
		const { type, payload } = e.detail || {};
		if (type === MSG.OUTPUT) {
			if (payload && payload.length > 0) {
				received = true;
				term.write(payload);
			}
		} else if (type === MSG.DETACH) {
			let j = {};
			try {
				j = JSON.parse(text(payload));
			} catch (err) {
				j = {};
			}
			attached = false;
			end((j.session || title.textContent) + ': ' +
			    detachWords(j.reason));
		}
	}

	function onData(d) {
		const s = mods.ctrl || mods.alt ? applyMods(d, mods) : d;
		clearMods();
		sendInput(s);
	}

	function onBinary(d) {
		if (link !== null && link.status === 'connected') {
			const b = new Uint8Array(d.length);
			for (let i = 0; i < d.length; i++)
				b[i] = d.charCodeAt(i) & 0xff;
			link.send(MSG.INPUT, b);
		}
	}

	/* ---- compose box and dictation ---- */

	function grow() {
		compose.style.height = 'auto';
		const line = parseFloat(getComputedStyle(compose).lineHeight) ||
		    20;
		const max = line * 5 + 16;
		compose.style.height = Math.min(compose.scrollHeight, max) + 'px';
		compose.style.overflowY = compose.scrollHeight > max ? 'auto' :
		    'hidden';
	}

	function sendCompose() {
		if (sendInput(composeBytes(compose.value))) {
			compose.value = '';
			grow();
		}
	}

	compose.addEventListener('keydown', (e) => {
		if (e.key === 'Enter' && !e.shiftKey && !e.isComposing &&
		    e.keyCode !== 229) {
			e.preventDefault();
			sendCompose();
		}
	});
	compose.addEventListener('input', grow);
	send.addEventListener('click', sendCompose);

	const voiceMsg = (m) => {
		interim.textContent = m || '';
		interim.dataset.kind = m ? 'error' : '';
	};
	const dictation = createDictation({
		interim(t) {
			/* An error stays until the next try. */
			if (t === '' && interim.dataset.kind === 'error')
				return;
			interim.textContent = t;
			interim.dataset.kind = '';
		},
		final(t) {
			const v = compose.value;
			const sep = v === '' || /\s$/.test(v) ? '' : ' ';
			compose.value = v + sep + t.trim();
			grow();
		},
		error: voiceMsg,
		state(on) {
			mic.classList.toggle('listening', on);
			mic.setAttribute('aria-pressed', on ? 'true' : 'false');
		}
	});
	if (dictation === null)
		mic.hidden = true;
	else
		mic.addEventListener('click', () => {
			voiceMsg('');
			dictation.toggle();
		});

	return {
		el,
		mounted() {
			term = new Terminal({
				fontFamily: MONO,
				fontSize: fontSize(),
				scrollback: SCROLLBACK,
				cursorBlink: false,
				convertEol: false,
				macOptionIsMeta: true,
				smoothScrollDuration: 0,
				theme: THEME
			});
			fit = new FitAddon();
			term.loadAddon(fit);
			term.open(host);
			doFit();
			app.setTerm(term);
			term.onData(onData);
			term.onBinary(onBinary);
			term.onResize(() => sendResize());
			untouch = touchScroll(term, host, sendInput);
			link = new Link(linkOptions(app.pairing));
			link.addEventListener('status', onStatus);
			link.addEventListener('open', attach);
			link.addEventListener('frame', onFrame);
			if (typeof ResizeObserver === 'function') {
				ro = new ResizeObserver(queueFit);
				ro.observe(host);
			}
			window.addEventListener('resize', queueFit);
			window.addEventListener('orientationchange', queueFit);
			setChip(chip, 'connecting');
			link.start();
		},
		resized: queueFit,
		ping() {
			if (link !== null)
				link.pingNow();
		},
		get link() { return link; },
		get term() { return term; },
		destroy() {
			leaving = true;
			if (dictation !== null)
				dictation.stop();
			if (ro !== null)
				ro.disconnect();
			if (untouch !== null)
				untouch();
			window.removeEventListener('resize', queueFit);
			window.removeEventListener('orientationchange', queueFit);
			if (link !== null) {
				link.removeEventListener('status', onStatus);
				link.removeEventListener('open', attach);
				link.removeEventListener('frame', onFrame);
				link.stop();
			}
			if (term !== null) {
				term.dispose();
				app.setTerm(null);
			}
			sweepStyles();
		}
	};
}
