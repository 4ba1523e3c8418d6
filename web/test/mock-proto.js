// mock-proto.js: stands in for src/proto.js in the UI test build.
export const MSG = { HELLO: 1, COMMAND: 2, REPLY: 3, OUTPUT: 4, KEYS: 5,
	PASTE: 6, RESIZE: 7, MOUSE: 8, DETACH: 9, FOCUS: 10, STDOUT: 11,
	TTY: 12, STDERR: 13, DATA: 14, INPUT: 15 };

export function encodeFrame(type, payload) {
	const f = new Uint8Array(5 + payload.length);
	const n = payload.length + 1;
	f[0] = n >>> 24; f[1] = n >>> 16; f[2] = n >>> 8; f[3] = n;
	f[4] = type;
	f.set(payload, 5);
	return f;
}

export function resizePayload(cols, rows) {
	return new Uint8Array([cols >> 8, cols & 0xff, rows >> 8, rows & 0xff]);
}
