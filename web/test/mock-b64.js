// mock-b64.js: stands in for src/b64.js in the UI test build while that
// module is not there (same API).
export function b64uEncode(b) {
	let s = '';
	for (const x of b)
		s += String.fromCharCode(x);
	return btoa(s).replace(/\+/g, '-').replace(/\//g, '_')
	    .replace(/=+$/, '');
}

export function b64uDecode(s) {
	if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) ||
	    s.length % 4 === 1)
		throw new Error('not base64url');
	const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
	const out = new Uint8Array(b.length);
	for (let i = 0; i < b.length; i++)
		out[i] = b.charCodeAt(i);
	return out;
}
