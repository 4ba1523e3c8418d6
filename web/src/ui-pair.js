// ui-pair.js: pairing.  The pair link (from the laptop's QR code, or
// pasted) carries the relay, a single-use token, the server's public key
// and a pair secret; the 4-digit code is shown only on the laptop.

import { h } from './ui-dom.js';
import { parsePairLink, redeem } from './pair.js';
import { generateKeyPair } from './noise.js';
import { b64 } from './ui-store.js';

const AGAIN = 'Run `loopsy mobile pair` on your laptop again and scan ' +
    'the new code.';

/* The words for a failed redeem, by the relay's error code. */
export function pairErrorText(e) {
	switch (e && e.code) {
	case 'wrong_code': {
		const n = e.triesLeft;
		if (typeof n === 'number')
			return 'That code is not right: ' + n +
			    (n === 1 ? ' try' : ' tries') + ' left.';
		return 'That code is not right.';
	}
	case 'link_burned':
		return 'Too many wrong codes: this link no longer works. ' +
		    AGAIN;
	case 'link_used':
		return 'This link has already been used. ' + AGAIN;
	case 'expired':
		return 'This link has expired. ' + AGAIN;
	case 'bad_token':
		return 'This link is not valid here. ' + AGAIN;
	case 'device_offline':
		return 'Your laptop is not connected to the relay. Check ' +
		    'that loopsy is running there, then try again.';
	case 'rate_limited':
		return 'Too many tries from this network: wait a minute, ' +
		    'then try again.';
	default:
		break;
	}
	if (e instanceof TypeError)
		return 'Cannot reach the relay: check the connection and ' +
		    'try again.';
	return (e && e.message) || 'Pairing failed.';
}

/* Codes after which this link is dead: back to the start. */
function fatal(e) {
	return e && ['link_burned', 'link_used', 'expired',
	    'bad_token'].includes(e.code);
}

/* A label for this phone as the laptop lists it. */
export function phoneLabel() {
	const ua = navigator.userAgent || '';
	let dev = 'Phone';
	if (/iPhone/.test(ua))
		dev = 'iPhone';
	else if (/iPad/.test(ua) || (/Macintosh/.test(ua) &&
	    navigator.maxTouchPoints > 1))
		dev = 'iPad';
	else if (/Android/.test(ua))
		dev = 'Android';
	else if (/Windows/.test(ua))
		dev = 'Windows';
	else if (/Macintosh/.test(ua))
		dev = 'Mac';
	else if (/Linux/.test(ua))
		dev = 'Linux';
	let br = 'browser';
	if (/EdgA?\//.test(ua))
		br = 'Edge';
	else if (/SamsungBrowser/.test(ua))
		br = 'Samsung Internet';
	else if (/Firefox|FxiOS/.test(ua))
		br = 'Firefox';
	else if (/Chrome|CriOS/.test(ua))
		br = 'Chrome';
	else if (/Safari/.test(ua))
		br = 'Safari';
	return dev + ' (' + br + ')';
}

/* Parse a pair link; {link} or {error}.  A link for another relay cannot
 * be used from this page (its CSP allows only its own origin). */
export function readLink(text) {
	let link;
	try {
		link = parsePairLink(String(text || '').trim());
	} catch (e) {
		return { error: e.message || 'That is not a pair link.' };
	}
	let origin = null;
	if (link.relay) {
		try {
			origin = new URL(link.relay).origin;
		} catch (e) {
			return { error: 'The relay address in the link is not ' +
			    'a URL.' };
		}
	}
	if (origin !== null && origin !== location.origin)
		return { other: origin, text: String(text).trim() };
	return { link: Object.assign({}, link, {
		relay: location.origin }) };
}

function page(...children) {
	return h('main', { class: 'page pair' },
	    h('div', { class: 'brand' }, h('span', { class: 'logo',
	    'aria-hidden': 'true' }, '⟳'), 'loopsy'),
	    ...children);
}

function cmd(s) {
	return h('code', {}, s);
}

/* The first screen: how to pair, and a box for a pasted link. */
export function pairStartView(app, message) {
	const err = h('p', { class: 'error', role: 'alert' });
	const box = h('textarea', { class: 'paste', rows: '3',
	    placeholder: 'https://…/app/#p1/…', autocapitalize: 'off',
	    autocomplete: 'off', spellcheck: 'false',
	    'aria-label': 'Pair link' });
	const go = h('button', { class: 'primary', type: 'submit' },
	    'Continue');
	const form = h('form', { class: 'stack', novalidate: true },
	    h('label', { class: 'label', for: 'pair-paste' },
	    'Or paste the pair link'), box, go, err);
	box.id = 'pair-paste';
	if (message)
		err.textContent = message;
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		const r = readLink(box.value);
		if (r.error) {
			err.textContent = r.error;
			box.focus();
		} else if (r.other)
			app.show(otherRelayView(app, r));
		else
			app.pairWith(r.link);
	});
	const el = page(
	    h('h1', {}, 'Pair with your laptop'),
	    h('ol', { class: 'steps' },
	    h('li', {}, 'On your laptop, run ', cmd('loopsy mobile pair'),
	    '.'),
	    h('li', {}, 'Scan the QR code with this phone\'s camera: it ' +
	    'opens this page.'),
	    h('li', {}, 'Type the 4-digit code the laptop shows.')),
	    form,
	    h('p', { class: 'hint' }, 'The laptop must be connected to ' +
	    'this relay first (', cmd('loopsy relay configure URL'), ').'));
	return { el };
}

/* A link for another relay: offer to open it there. */
export function otherRelayView(app, r) {
	const el = page(
	    h('h1', {}, 'Another relay'),
	    h('p', {}, 'This pair link belongs to ', h('b', {}, r.other),
	    ', but this page comes from ', h('b', {}, location.origin),
	    '. Pairing has to happen on the link\'s own relay.'),
	    h('div', { class: 'row' },
	    h('button', { class: 'primary', type: 'button',
	    onclick: () => location.assign(r.text) }, 'Open it there'),
	    h('button', { type: 'button',
	    onclick: () => app.show(pairStartView(app)) }, 'Cancel')));
	return { el };
}

/* Already paired and a new link came: ask before replacing. */
export function replaceView(app, link) {
	const cur = app.pairing;
	const el = page(
	    h('h1', {}, 'Pair a new laptop?'),
	    h('p', {}, 'This phone is paired with ',
	    h('b', {}, cur.deviceLabel || 'your laptop'), ' on ',
	    h('b', {}, hostOf(cur.relay)), '. Pairing with the new link ' +
	    'replaces that pairing on this phone.'),
	    h('div', { class: 'row' },
	    h('button', { class: 'primary', type: 'button',
	    onclick: () => app.show(codeView(app, link)) },
	    'Pair the new one'),
	    h('button', { type: 'button',
	    onclick: () => app.navigate('#home') }, 'Keep the current one')));
	return { el };
}

export function hostOf(url) {
	try {
		return new URL(url).host;
	} catch (e) {
		return String(url || '');
	}
}

/* The code screen: redeem the link with the 4-digit code. */
export function codeView(app, link) {
	const err = h('p', { class: 'error', role: 'alert' });
	const input = h('input', { class: 'code', type: 'text',
	    inputmode: 'numeric', pattern: '[0-9]*', maxlength: '4',
	    autocomplete: 'one-time-code', enterkeyhint: 'done',
	    'aria-label': '4-digit code', placeholder: '0000' });
	const go = h('button', { class: 'primary', type: 'submit' }, 'Pair');
	const form = h('form', { class: 'stack', novalidate: true }, input,
	    go, err);
	let keys = null;
	let busy = false;

	async function submit() {
		const code = input.value.replace(/\D/g, '');
		if (busy)
			return;
		if (code.length !== 4) {
			err.textContent = 'The code has 4 digits.';
			input.focus();
			return;
		}
		busy = true;
		go.disabled = input.disabled = true;
		go.textContent = 'Pairing…';
		err.textContent = '';
		const label = phoneLabel();
		try {
			if (keys === null)
				keys = await generateKeyPair();
			const r = await redeem({ relay: link.relay,
			    token: link.token, code, secret: link.secret,
			    phoneKey: keys, label });
			app.paired({
				relay: link.relay,
				deviceId: r.deviceId,
				phoneId: r.phoneId,
				phoneSecret: r.phoneSecret,
				priv: b64(keys.priv),
				pub: b64(keys.pub),
				serverPub: b64(link.serverPub),
				label,
				pairedAt: new Date().toISOString()
			});
		} catch (e) {
			busy = false;
			go.disabled = input.disabled = false;
			go.textContent = 'Pair';
			if (fatal(e)) {
				app.show(pairStartView(app, pairErrorText(e)));
				return;
			}
			err.textContent = pairErrorText(e);
			input.value = '';
			input.focus();
		}
	}

	form.addEventListener('submit', (e) => {
		e.preventDefault();
		submit();
	});
	input.addEventListener('input', () => {
		const v = input.value.replace(/\D/g, '').slice(0, 4);
		if (v !== input.value)
			input.value = v;
		if (v.length === 4)
			submit();
	});
	const el = page(
	    h('h1', {}, 'Enter the code'),
	    h('p', {}, 'Type the 4-digit code shown on your laptop.'),
	    form,
	    h('p', { class: 'hint' },
	    h('button', { class: 'link', type: 'button',
	    onclick: () => app.cancelPair() }, 'Cancel')));
	return { el, focus: () => input.focus() };
}
