// web/src/b64.js: base64url without padding (RFC 4648 section 5), as every
// key, secret and token in relay/PROTOCOL.md is written, and UTF-8 helpers.
// Strict: a decoder that accepted sloppy input would let two spellings of one
// key through, so anything but the canonical form is an error.

const ALPHABET =
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++)
	LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function b64uEncode(bytes) {
	if (!(bytes instanceof Uint8Array))
		throw new TypeError('b64uEncode wants a Uint8Array');
	let out = '';
	let i = 0;
	for (; i + 3 <= bytes.length; i += 3) {
		const v = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
		out += ALPHABET[v >> 18 & 63] + ALPHABET[v >> 12 & 63] +
		    ALPHABET[v >> 6 & 63] + ALPHABET[v & 63];
	}
	const rest = bytes.length - i;
	if (rest === 1) {
		const v = bytes[i] << 16;
		out += ALPHABET[v >> 18 & 63] + ALPHABET[v >> 12 & 63];
	} else if (rest === 2) {
		const v = bytes[i] << 16 | bytes[i + 1] << 8;
		out += ALPHABET[v >> 18 & 63] + ALPHABET[v >> 12 & 63] +
		    ALPHABET[v >> 6 & 63];
	}
	return out;
}

export function b64uDecode(text) {
	if (typeof text !== 'string')
		throw new TypeError('b64uDecode wants a string');
	const n = text.length;
	if (n % 4 === 1)
		throw new Error('bad base64url: impossible length ' + n);
	const out = new Uint8Array(Math.floor(n * 3 / 4));
	let acc = 0, bits = 0, o = 0;
	for (let i = 0; i < n; i++) {
		const c = text.charCodeAt(i);
		const v = c < 128 ? LOOKUP[c] : -1;
		if (v < 0) {
			throw new Error('bad base64url: character ' +
			    JSON.stringify(text[i]) + ' at ' + i);
		}
		acc = (acc << 6 | v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = acc >> bits & 0xff;
		}
	}
	if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0)
		throw new Error('bad base64url: not in canonical form');
	return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/* A string as UTF-8 bytes. */
export function utf8(text) {
	return encoder.encode(text);
}

/* UTF-8 bytes as a string (bad sequences become U+FFFD). */
export function fromUtf8(bytes) {
	return decoder.decode(bytes);
}

/* Hex, for keys in tests and tools. */
export function toHex(bytes) {
	let s = '';
	for (const b of bytes)
		s += (b < 16 ? '0' : '') + b.toString(16);
	return s;
}

export function fromHex(text) {
	if (typeof text !== 'string' || text.length % 2 !== 0 ||
	    !/^[0-9a-fA-F]*$/.test(text))
		throw new Error('bad hex string');
	const out = new Uint8Array(text.length / 2);
	for (let i = 0; i < out.length; i++)
		out[i] = parseInt(text.substr(i * 2, 2), 16);
	return out;
}

/* Plain base64 with padding (the command-line phone's JSON lines). */
export function b64Encode(bytes) {
	const s = b64uEncode(bytes).replace(/-/g, '+').replace(/_/g, '/');
	return s + '='.repeat((4 - s.length % 4) % 4);
}
