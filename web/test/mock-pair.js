// mock-pair.js: stands in for src/pair.js in the UI test build while that
// module is not there: the same API and the same requests (PROTOCOL.md,
// "Pairing"), so the test's fake relay answers both alike.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64uEncode, b64uDecode } from './mock-b64.js';

export class PairError extends Error {
	constructor(code, message, triesLeft) {
		super(message);
		this.code = code;
		this.triesLeft = triesLeft;
	}
}

export function parsePairLink(text) {
	const t = String(text).trim();
	const i = t.indexOf('#');
	let relay = null;
	let frag = t;
	if (i >= 0) {
		frag = t.slice(i + 1);
		if (i > 0) {
			try {
				relay = new URL(t).origin;
			} catch (e) {
				throw new Error('not a pair link: the address ' +
				    'before # is not a URL');
			}
		}
	}
	const B = '[A-Za-z0-9_-]';
	const m = new RegExp('^p1/(' + B + '{32}\\.' + B + '{22})/(' + B +
	    '{43})/(' + B + '{43})$').exec(frag);
	if (m === null)
		throw new Error('not a pair link: expected #p1/TOKEN/KEY/SECRET');
	return { relay, token: m[1], serverPub: b64uDecode(m[2]),
	    secret: b64uDecode(m[3]) };
}

export async function redeem({ relay, token, code, secret, phoneKey,
    label }) {
	const enc = new TextEncoder();
	const msg = new Uint8Array([...enc.encode('loopsy-pair-1'), 0,
	    ...enc.encode(token), 0, ...phoneKey.pub, ...enc.encode(code)]);
	const proof = b64uEncode(hmac(sha256, secret, msg));
	const r = await fetch(new URL('/pair/redeem', relay || location.origin),
	    { method: 'POST', headers: { 'Content-Type': 'application/json' },
	    body: JSON.stringify({ token, phone_pub: b64uEncode(phoneKey.pub),
	    label, proof }) });
	const j = await r.json().catch(() => ({}));
	if (!r.ok) {
		const e = j.error || {};
		throw new PairError(e.code || 'http_' + r.status,
		    e.message || 'HTTP ' + r.status, j.tries_left);
	}
	return { deviceId: j.device_id, phoneId: j.phone_id,
	    phoneSecret: j.phone_secret };
}
