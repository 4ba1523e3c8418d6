// proto.js: frames as common/proto.h makes them, read back however cut.
import test from 'node:test';
import assert from 'node:assert/strict';
import { MSG, PROTO_VERSION, PROTO_MAX_FRAME, encodeFrame, FrameReader,
    resizePayload, helloPayload, parseJson, typeName } from '../src/proto.js';

test('message types and version', () => {
	assert.deepEqual({ ...MSG }, { HELLO: 1, COMMAND: 2, REPLY: 3,
	    OUTPUT: 4, KEYS: 5, PASTE: 6, RESIZE: 7, MOUSE: 8, DETACH: 9,
	    FOCUS: 10, STDOUT: 11, TTY: 12, STDERR: 13, DATA: 14, INPUT: 15 });
	assert.equal(PROTO_VERSION, 1);
	assert.equal(typeName(15), 'INPUT');
	assert.equal(typeName(99), 'type 99');
	assert.deepEqual(helloPayload(), { proto: [1, 1] });
});

test('encodeFrame: length of type+payload, type, payload', () => {
	assert.deepEqual(encodeFrame(MSG.INPUT, Uint8Array.of(0x61)),
	    Uint8Array.of(0, 0, 0, 2, 15, 0x61));
	assert.deepEqual(encodeFrame(MSG.DETACH),
	    Uint8Array.of(0, 0, 0, 1, 9));
	/* Strings are UTF-8, objects JSON, exactly as the C client sends. */
	assert.deepEqual(encodeFrame(MSG.HELLO, helloPayload()),
	    Uint8Array.from(Buffer.concat([Buffer.from([0, 0, 0, 16, 1]),
	    Buffer.from('{"proto":[1,1]}')])));
	assert.deepEqual(encodeFrame(MSG.PASTE, 'é'),
	    Uint8Array.of(0, 0, 0, 3, 6, 0xc3, 0xa9));
	const big = encodeFrame(MSG.OUTPUT, new Uint8Array(70000));
	assert.deepEqual(big.subarray(0, 5),
	    Uint8Array.of(0, 1, 0x11, 0x71, 4));
	assert.throws(() => encodeFrame(0, ''), /bad frame type/);
	assert.throws(() => encodeFrame(MSG.DATA,
	    new Uint8Array(PROTO_MAX_FRAME)), /exceeds/);
});

test('resizePayload: u16 cols, u16 rows big-endian', () => {
	assert.deepEqual(resizePayload(80, 24), Uint8Array.of(0, 80, 0, 24));
	assert.deepEqual(resizePayload(300, 1000), Uint8Array.of(1, 44, 3, 232));
	assert.throws(() => resizePayload(0, 24), /bad terminal size/);
	assert.throws(() => resizePayload(70000, 24), /bad terminal size/);
});

function stream() {
	return [
		{ type: MSG.HELLO, payload: new TextEncoder().encode(
		    '{"proto":1}') },
		{ type: MSG.OUTPUT, payload: new Uint8Array(0) },
		{ type: MSG.STDOUT, payload: Uint8Array.from({ length: 300 },
		    (_, i) => i & 0xff) },
		{ type: MSG.REPLY, payload: new TextEncoder().encode(
		    '{"id":1,"ok":true,"exit":0}') },
	];
}

function concat(frames) {
	return Uint8Array.from(Buffer.concat(frames.map((f) =>
	    encodeFrame(f.type, f.payload))));
}

test('frames split at every byte boundary', () => {
	const want = stream();
	const bytes = concat(want);
	for (let cut = 0; cut <= bytes.length; cut++) {
		const r = new FrameReader();
		const got = [...r.push(bytes.subarray(0, cut)),
		    ...r.push(bytes.subarray(cut))];
		assert.deepEqual(got, want, 'cut at ' + cut);
		assert.equal(r.buffered, 0);
	}
	/* Two cuts, and one byte at a time. */
	for (let a = 0; a < bytes.length; a += 7) {
		for (let b = a; b <= bytes.length; b += 13) {
			const r = new FrameReader();
			const got = [...r.push(bytes.subarray(0, a)),
			    ...r.push(bytes.subarray(a, b)),
			    ...r.push(bytes.subarray(b))];
			assert.deepEqual(got, want, 'cuts at ' + a + ', ' + b);
		}
	}
	const r = new FrameReader();
	const got = [];
	for (const byte of bytes)
		got.push(...r.push(Uint8Array.of(byte)));
	assert.deepEqual(got, want);
});

test('frames coalesced in one push come out together', () => {
	const want = stream();
	const r = new FrameReader();
	const bytes = concat([...want, ...want]);
	assert.deepEqual(r.push(bytes), [...want, ...want]);
	/* A push that ends mid-frame keeps the rest for later. */
	const r2 = new FrameReader();
	const one = concat(want);
	const got = r2.push(Uint8Array.from([...one, ...one.subarray(0, 9)]));
	assert.deepEqual(got, want);
	assert.equal(r2.buffered, 9);
	assert.deepEqual(r2.push(one.subarray(9)), want);
	/* The reader copies: the caller may reuse its buffer. */
	const r3 = new FrameReader();
	const buf = Uint8Array.from(one.subarray(16, 30));
	assert.deepEqual(r3.push(one.subarray(0, 16)), want.slice(0, 1));
	assert.deepEqual(r3.push(buf), want.slice(1, 2));
	buf.fill(0);
	assert.deepEqual(r3.push(one.subarray(30)), want.slice(2));
});

test('an oversized or empty frame throws and the reader is dead', () => {
	let r = new FrameReader();
	const n = PROTO_MAX_FRAME + 1;
	assert.throws(() => r.push(Uint8Array.of(n >>> 24, n >>> 16 & 0xff,
	    n >>> 8 & 0xff, n & 0xff, 4)), /frame of 4194305 bytes exceeds the 4194304 byte limit/);
	assert.throws(() => r.push(new Uint8Array(1)), /exceeds/);
	r = new FrameReader();
	assert.throws(() => r.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff)),
	    /frame of 4294967295 bytes exceeds/);
	r = new FrameReader();
	assert.throws(() => r.push(Uint8Array.of(0, 0, 0, 0, 1)),
	    /empty frame/);
	/* The largest frame is fine. */
	r = new FrameReader();
	const f = encodeFrame(MSG.OUTPUT, new Uint8Array(PROTO_MAX_FRAME - 1));
	let got = [];
	for (let off = 0; off < f.length; off += 65519)
		got.push(...r.push(f.subarray(off, off + 65519)));
	assert.equal(got.length, 1);
	assert.equal(got[0].payload.length, PROTO_MAX_FRAME - 1);
});

test('parseJson names the frame when the JSON is bad', () => {
	assert.deepEqual(parseJson(MSG.REPLY, new TextEncoder().encode(
	    '{"id":1}')), { id: 1 });
	assert.throws(() => parseJson(MSG.REPLY, Uint8Array.of(0x7b)),
	    /bad JSON in a REPLY frame/);
});
