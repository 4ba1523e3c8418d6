// web/src/pair.js: the phone's side of pairing (relay/PROTOCOL.md,
// "Pairing"): read the pair link, prove the 4-digit code, redeem the token.

import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { b64uDecode, b64uEncode } from './b64.js';

const encoder = new TextEncoder();
const B64U = /^[A-Za-z0-9_-]*$/;
const AGAIN = 'run `loopsy mobile pair` again on the laptop';

function decodeKey(text, what) {
	let k;
	try {
		k = b64uDecode(text);
	} catch {
		throw new Error('the link\'s ' + what + ' is damaged');
	}
	if (k.length !== 32)
		throw new Error('the link\'s ' + what + ' is damaged');
	return k;
}

/* The token: b64u(nonce[16] || exp[8]) "." b64u(mac[16]); returns exp. */
function checkToken(token) {
	const parts = token.split('.');
	let body, mac;
	try {
		if (parts.length !== 2)
			throw new Error();
		body = b64uDecode(parts[0]);
		mac = b64uDecode(parts[1]);
	} catch {
		throw new Error('the link\'s token is damaged');
	}
	if (body.length !== 24 || mac.length !== 16)
		throw new Error('the link\'s token is damaged');
	let exp = 0;
	for (let i = 16; i < 24; i++)
		exp = exp * 256 + body[i];
	return exp;
}

/*
 * Read a pair link: the full link RELAY/app/#p1/TOKEN/K/S (http or https),
 * the fragment #p1/... or a bare p1/...  Returns {relay, token, serverPub,
 * secret, expires}: relay is the link's origin (with any path before /app,
 * for a relay behind a proxy under a prefix), or null when the text has
 * none; expires is the token's expiry in unix seconds.
 */
export function parsePairLink(text) {
	if (typeof text !== 'string')
		throw new Error('not a loopsy pair link');
	text = text.trim();
	let relay = null, frag;
	if (/^https?:\/\//i.test(text)) {
		let url;
		try {
			url = new URL(text);
		} catch {
			throw new Error('not a loopsy pair link');
		}
		if (url.hash === '' || url.hash === '#') {
			throw new Error(/\/app\/?$/.test(url.pathname) ?
			    'the link is cut short' :
			    'not a loopsy pair link');
		}
		frag = url.hash.slice(1);
		let path = url.pathname.replace(/\/+$/, '');
		path = path.replace(/\/app(\/index\.html)?$/, '');
		relay = url.origin + path;
	} else if (text.startsWith('#'))
		frag = text.slice(1);
	else
		frag = text;

	const parts = frag.split('/');
	if (parts[0] !== 'p1') {
		if (/^p[0-9]+$/.test(parts[0])) {
			throw new Error('this pair link is for a newer loopsy ' +
			    '(' + parts[0] + '); update this page');
		}
		throw new Error('not a loopsy pair link');
	}
	/* A slash after it, or a full stop or bracket a chat app took in. */
	while (parts.length > 4 && parts[parts.length - 1] === '')
		parts.pop();
	if (parts.length === 4 && /^[A-Za-z0-9_-]{43}[.,;:!?)\]>'"]+$/.test(
	    parts[3]))
		parts[3] = parts[3].slice(0, 43);
	if (parts.length < 4 || parts.slice(1).some((p) => p === ''))
		throw new Error('the link is cut short');
	if (parts.length > 4)
		throw new Error('the link has something extra at its end');
	const [, token, k, s] = parts;
	if (!B64U.test(k))
		throw new Error('the link\'s server key is damaged');
	if (!B64U.test(s))
		throw new Error('the link\'s secret is damaged');
	const expires = checkToken(token);
	const serverPub = decodeKey(k, 'server key');
	if (s.length < 43)
		throw new Error('the link is cut short');
	const secret = decodeKey(s, 'secret');
	return { relay, token, serverPub, secret, expires };
}

function checkCode(code) {
	if (typeof code !== 'string' || !/^[0-9]{4}$/.test(code))
		throw new PairError('bad_code', 'The code is the 4 digits ' +
		    'shown on the laptop');
}

/*
 * The pair proof: b64u(HMAC-SHA256(S, "loopsy-pair-1" 0x00 token 0x00
 * phone_pub[32] code[4 ASCII])).
 */
export function pairProof(secret, token, phonePub, code) {
	if (!(secret instanceof Uint8Array) || secret.length !== 32)
		throw new Error('the pair secret must be 32 bytes');
	if (!(phonePub instanceof Uint8Array) || phonePub.length !== 32)
		throw new Error('the phone\'s public key must be 32 bytes');
	if (typeof token !== 'string' || token === '')
		throw new Error('no pair token');
	checkCode(code);
	const label = encoder.encode('loopsy-pair-1');
	const tok = encoder.encode(token);
	const msg = new Uint8Array(label.length + 1 + tok.length + 1 + 32 + 4);
	let o = 0;
	msg.set(label, o);
	o += label.length + 1;		/* and a 0x00 */
	msg.set(tok, o);
	o += tok.length + 1;		/* and a 0x00 */
	msg.set(phonePub, o);
	o += 32;
	msg.set(encoder.encode(code), o);
	return b64uEncode(hmac(sha256, secret, msg));
}

/* A failed redeem: .code is the relay's error code (or one of ours:
 * bad_code, network, bad_response), .triesLeft for wrong_code. */
export class PairError extends Error {
	constructor(code, message, { triesLeft = null, status = 0,
	    retryAfter = null } = {}) {
		super(message);
		this.name = 'PairError';
		this.code = code;
		this.triesLeft = triesLeft;
		this.status = status;
		this.retryAfter = retryAfter;
	}
}

function pairMessage(code, relayMessage, triesLeft, retryAfter, status) {
	switch (code) {
	case 'wrong_code':
		if (triesLeft === null)
			return 'Wrong code';
		return 'Wrong code: ' + triesLeft +
		    (triesLeft === 1 ? ' try left' : ' tries left');
	case 'link_burned':
		return 'Too many wrong codes: this link no longer works. ' +
		    'Run `loopsy mobile pair` again on the laptop';
	case 'link_used':
		return 'This link was used up: ' + AGAIN;
	case 'expired':
		return 'This link has expired: ' + AGAIN;
	case 'bad_token':
		return 'This link is not one this relay issued: ' + AGAIN;
	case 'device_offline':
		return 'The laptop is not connected to the relay: check that ' +
		    'loopsy is running there, then try again';
	case 'rate_limited':
		return 'Too many tries: wait ' + (retryAfter !== null ?
		    retryAfter + ' seconds' : 'a minute') + ' and try again';
	case 'forbidden_origin':
		return 'The relay refuses requests from this page\'s address';
	case 'too_many':
		return 'The relay is too busy: try again in a minute';
	default:
		return 'The relay refused to pair this phone' +
		    (relayMessage ? ': ' + relayMessage :
		    ' (HTTP ' + status + ')');
	}
}

const ID_RE = /^[dp][A-Za-z0-9_-]{22}$/;

/*
 * Redeem a pair link: POST /pair/redeem.  phoneKey is {priv, pub}.  Returns
 * {deviceId, phoneId, phoneSecret}; throws PairError.
 */
export async function redeem({ relay, token, code, secret, phoneKey, label,
    fetch = globalThis.fetch } = {}) {
	checkCode(code);
	if (typeof relay !== 'string' || !/^https?:\/\//i.test(relay))
		throw new PairError('bad_request', 'No relay address to pair with');
	if (!phoneKey || !(phoneKey.pub instanceof Uint8Array))
		throw new PairError('bad_request', 'No phone key');
	const body = {
		token,
		phone_pub: b64uEncode(phoneKey.pub),
		proof: pairProof(secret, token, phoneKey.pub, code),
	};
	if (typeof label === 'string' && label !== '')
		body.label = label;
	const url = relay.replace(/\/+$/, '') + '/pair/redeem';
	let res, text;
	try {
		res = await fetch(url, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(body),
			credentials: 'omit',
			cache: 'no-store',
		});
		text = await res.text();
	} catch (err) {
		throw new PairError('network', 'Could not reach the relay (' +
		    (err && err.message ? err.message : String(err)) + ')');
	}
	let j = null;
	try {
		j = JSON.parse(text);
	} catch {
		/* handled below */
	}
	if (res.status === 200) {
		if (j === null || typeof j !== 'object' ||
		    !ID_RE.test(j.device_id ?? '') || j.device_id[0] !== 'd' ||
		    !ID_RE.test(j.phone_id ?? '') || j.phone_id[0] !== 'p' ||
		    typeof j.phone_secret !== 'string' ||
		    !/^[A-Za-z0-9_-]{43}$/.test(j.phone_secret)) {
			throw new PairError('bad_response', 'The relay\'s ' +
			    'answer was not understood', { status: 200 });
		}
		return { deviceId: j.device_id, phoneId: j.phone_id,
		    phoneSecret: j.phone_secret };
	}
	const e = j !== null && typeof j === 'object' && j.error &&
	    typeof j.error === 'object' ? j.error : null;
	const code_ = e !== null && typeof e.code === 'string' ? e.code :
	    (res.status === 429 ? 'rate_limited' : 'bad_response');
	const relayMessage = e !== null && typeof e.message === 'string' ?
	    e.message : '';
	let triesLeft = null;
	if (e !== null && Number.isInteger(e.tries_left))
		triesLeft = e.tries_left;
	else if (j !== null && Number.isInteger(j.tries_left))
		triesLeft = j.tries_left;
	let retryAfter = null;
	const ra = res.headers && typeof res.headers.get === 'function' ?
	    res.headers.get('Retry-After') : null;
	if (ra !== null && /^[0-9]+$/.test(ra))
		retryAfter = Number(ra);
	throw new PairError(code_, pairMessage(code_, relayMessage, triesLeft,
	    retryAfter, res.status), { triesLeft, status: res.status,
	    retryAfter });
}
