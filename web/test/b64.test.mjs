// b64.js: base64url without padding, strict.
import test from 'node:test';
import assert from 'node:assert/strict';
import { b64uEncode, b64uDecode, utf8, fromUtf8, toHex, fromHex, b64Encode }
    from '../src/b64.js';

test('base64url round trips every length and byte value', () => {
	for (let n = 0; n < 70; n++) {
		const b = new Uint8Array(n);
		for (let i = 0; i < n; i++)
			b[i] = (i * 37 + n * 11) & 0xff;
		const s = b64uEncode(b);
		assert.equal(s, Buffer.from(b).toString('base64url'));
		assert.deepEqual(b64uDecode(s), b);
	}
	const all = Uint8Array.from({ length: 256 }, (_, i) => i);
	assert.deepEqual(b64uDecode(b64uEncode(all)), all);
});

test('base64url decoding refuses bad input', () => {
	assert.throws(() => b64uDecode('abc='), /character "="/);
	assert.throws(() => b64uDecode('ab+c'), /character "\+"/);
	assert.throws(() => b64uDecode('ab/c'), /character/);
	assert.throws(() => b64uDecode('a'), /impossible length/);
	assert.throws(() => b64uDecode('abcde'), /impossible length/);
	assert.throws(() => b64uDecode('ab c'), /character/);
	assert.throws(() => b64uDecode('abé'), /character/);
	/* "AB" is 0x00 + leftover bits 0001: not canonical. */
	assert.throws(() => b64uDecode('AB'), /canonical/);
	assert.deepEqual(b64uDecode('AA'), Uint8Array.of(0));
	assert.deepEqual(b64uDecode(''), new Uint8Array(0));
	assert.throws(() => b64uDecode(null), TypeError);
	assert.throws(() => b64uEncode('text'), TypeError);
});

test('utf8, hex and padded base64 helpers', () => {
	assert.deepEqual(utf8('é€'), Uint8Array.of(0xc3, 0xa9, 0xe2, 0x82, 0xac));
	assert.equal(fromUtf8(utf8('héllo €')), 'héllo €');
	assert.equal(toHex(Uint8Array.of(0, 15, 255)), '000fff');
	assert.deepEqual(fromHex('000fFF'), Uint8Array.of(0, 15, 255));
	assert.throws(() => fromHex('abc'), /bad hex/);
	assert.throws(() => fromHex('zz'), /bad hex/);
	for (let n = 0; n < 8; n++) {
		const b = Uint8Array.from({ length: n }, (_, i) => 250 + i);
		assert.equal(b64Encode(b), Buffer.from(b).toString('base64'));
	}
});
