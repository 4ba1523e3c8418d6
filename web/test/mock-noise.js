// mock-noise.js: stands in for src/noise.js in the UI test build (the key
// pair is random bytes: the mock Link does no handshake).
export function generateKeyPair() {
	const priv = crypto.getRandomValues(new Uint8Array(32));
	const pub = crypto.getRandomValues(new Uint8Array(32));
	return { priv, pub };
}

export function keyPairFromPrivate(priv) {
	return { priv, pub: new Uint8Array(32) };
}
