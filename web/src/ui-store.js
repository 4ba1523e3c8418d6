// ui-store.js: what the phone keeps.  localStorage "loopsy.phone.v1" holds
// the pairing {relay, deviceId, phoneId, phoneSecret, priv, pub, serverPub,
// label, pairedAt} (keys as b64u); sessionStorage holds each open
// terminal's resume token, so a reload of the page resumes it.

import { b64uEncode, b64uDecode } from './b64.js';

export const KEY = 'loopsy.phone.v1';
const RESUME = 'loopsy.resume.';
const PREFS = 'loopsy.prefs.v1';

/* Bytes from a Uint8Array or a b64u string. */
export function bytes(v) {
	if (v instanceof Uint8Array)
		return v;
	if (typeof v === 'string')
		return b64uDecode(v);
	throw new Error('not a key');
}

export function b64(v) {
	return typeof v === 'string' ? v : b64uEncode(v);
}

function valid(p) {
	return p != null && typeof p === 'object' &&
	    typeof p.phoneId === 'string' && p.phoneId !== '' &&
	    typeof p.phoneSecret === 'string' && p.phoneSecret !== '' &&
	    typeof p.priv === 'string' && typeof p.pub === 'string' &&
	    typeof p.serverPub === 'string';
}

export function loadPairing() {
	try {
		const p = JSON.parse(localStorage.getItem(KEY));
		return valid(p) ? p : null;
	} catch (e) {
		return null;
	}
}

export function savePairing(p) {
	localStorage.setItem(KEY, JSON.stringify(p));
}

export function clearPairing() {
	localStorage.removeItem(KEY);
	try {
		for (let i = sessionStorage.length - 1; i >= 0; i--) {
			const k = sessionStorage.key(i);
			if (k !== null && k.startsWith(RESUME))
				sessionStorage.removeItem(k);
		}
	} catch (e) {
		/* storage off: nothing kept */
	}
}

/* What a Link needs, decoded. */
export function linkOptions(p) {
	return {
		relay: p.relay,
		phoneId: p.phoneId,
		phoneSecret: p.phoneSecret,
		phoneKey: { priv: bytes(p.priv), pub: bytes(p.pub) },
		serverPub: bytes(p.serverPub)
	};
}

/* A random 32-character b64u token (24 bytes). */
export function randomToken() {
	const b = new Uint8Array(24);
	crypto.getRandomValues(b);
	return b64uEncode(b);
}

export function resumeToken(id) {
	let t = null;
	try {
		t = sessionStorage.getItem(RESUME + id);
	} catch (e) {
		t = null;
	}
	if (t === null || !/^[A-Za-z0-9_-]{32}$/.test(t)) {
		t = randomToken();
		try {
			sessionStorage.setItem(RESUME + id, t);
		} catch (e) {
			/* private mode: the token lives as long as the view */
		}
	}
	return t;
}

export function forgetResume(id) {
	try {
		sessionStorage.removeItem(RESUME + id);
	} catch (e) {
		/* nothing kept */
	}
}

export function loadPrefs() {
	try {
		return JSON.parse(localStorage.getItem(PREFS)) || {};
	} catch (e) {
		return {};
	}
}

export function savePrefs(p) {
	try {
		localStorage.setItem(PREFS, JSON.stringify(p));
	} catch (e) {
		/* not kept */
	}
}
