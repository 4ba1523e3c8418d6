// pair.js: the pair link, the proof, and redeeming against a mock relay.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { b64uEncode } from '../src/b64.js';
import { generateKeyPair } from '../src/noise.js';
import { parsePairLink, pairProof, redeem, PairError } from '../src/pair.js';

const K = new Uint8Array(32).fill(0x11);
const S = new Uint8Array(32).fill(0x22);
const EXP = 1900000000;

function token(exp = EXP) {
	const body = new Uint8Array(24).fill(5);
	new DataView(body.buffer).setBigUint64(16, BigInt(exp));
	return b64uEncode(body) + '.' + b64uEncode(new Uint8Array(16).fill(9));
}

const TOK = token();
const FRAG = 'p1/' + TOK + '/' + b64uEncode(K) + '/' + b64uEncode(S);

test('parsePairLink: the forms it accepts', () => {
	const want = { token: TOK, serverPub: K, secret: S, expires: EXP };
	assert.deepEqual(parsePairLink('https://relay.example/app/#' + FRAG),
	    { relay: 'https://relay.example', ...want });
	assert.deepEqual(parsePairLink('http://10.0.0.5:8080/app/#' + FRAG),
	    { relay: 'http://10.0.0.5:8080', ...want });
	assert.deepEqual(parsePairLink('  https://r.example/app#' + FRAG +
	    '\n'), { relay: 'https://r.example', ...want });
	assert.deepEqual(parsePairLink('https://r.example/loopsy/app/#' + FRAG),
	    { relay: 'https://r.example/loopsy', ...want });
	assert.deepEqual(parsePairLink('#' + FRAG), { relay: null, ...want });
	assert.deepEqual(parsePairLink(FRAG), { relay: null, ...want });
	assert.deepEqual(parsePairLink(FRAG + '/'), { relay: null, ...want });
	assert.deepEqual(parsePairLink(FRAG + '.'), { relay: null, ...want });
	assert.deepEqual(parsePairLink('https://r.example/app/#' + FRAG + ')'),
	    { relay: 'https://r.example', ...want });
});

test('parsePairLink: what it refuses, and why', () => {
	const bad = [
		['', /not a loopsy pair link/],
		['hello there', /not a loopsy pair link/],
		['https://example.com/', /not a loopsy pair link/],
		['https://r.example/app/', /cut short/],
		['https://r.example/app/#', /cut short/],
		['https://r.example/app/#p1/', /cut short/],
		['p1/' + TOK, /cut short/],
		['p1/' + TOK + '/' + b64uEncode(K), /cut short/],
		[FRAG.slice(0, -5), /cut short/],
		['p1//' + b64uEncode(K) + '/' + b64uEncode(S), /cut short/],
		[FRAG + '/extra', /something extra/],
		['p2/' + FRAG.slice(3), /newer loopsy/],
		['p1/garbage/' + b64uEncode(K) + '/' + b64uEncode(S),
		    /token is damaged/],
		['p1/' + TOK.replace('.', '') + '/' + b64uEncode(K) + '/' +
		    b64uEncode(S), /token is damaged/],
		['p1/' + TOK + '/' + b64uEncode(K).slice(0, 40) + '/' +
		    b64uEncode(S), /server key is damaged/],
		['p1/' + TOK + '/' + b64uEncode(K).replace('E', '+') + '/' +
		    b64uEncode(S), /server key is damaged/],
		['p1/' + TOK + '/' + b64uEncode(K) + '/' +
		    b64uEncode(S).replace('i', '*'), /secret is damaged/],
		['p1/' + TOK + '/' + b64uEncode(K) + '/' + b64uEncode(S) + 'AA',
		    /secret is damaged/],
	];
	for (const [text, re] of bad)
		assert.throws(() => parsePairLink(text), re, text);
	assert.throws(() => parsePairLink(null), /not a loopsy pair link/);
});

test('pairProof matches an independent HMAC', () => {
	for (let k = 0; k < 5; k++) {
		const secret = new Uint8Array(randomBytes(32));
		const pub = new Uint8Array(randomBytes(32));
		const code = String(k * 1999 % 10000).padStart(4, '0');
		const want = createHmac('sha256', secret).update(Buffer.concat([
		    Buffer.from('loopsy-pair-1'), Buffer.from([0]),
		    Buffer.from(TOK), Buffer.from([0]), pub,
		    Buffer.from(code, 'ascii')])).digest('base64url');
		assert.equal(pairProof(secret, TOK, pub, code), want);
	}
	assert.throws(() => pairProof(S, TOK, K, '123'), PairError);
	assert.throws(() => pairProof(S, TOK, K, '12a4'), /4 digits/);
	assert.throws(() => pairProof(S, TOK, new Uint8Array(31), '1234'),
	    /32 bytes/);
});

/* A relay that answers /pair/redeem with whatever the test says next. */
async function mockRelay() {
	const m = { seen: [], answer: null };
	m.server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			m.seen.push({ method: req.method, url: req.url,
			    type: req.headers['content-type'],
			    body: JSON.parse(body) });
			const a = m.answer;
			res.writeHead(a.status, { 'Content-Type':
			    'application/json', ...(a.headers ?? {}) });
			res.end(typeof a.body === 'string' ? a.body :
			    JSON.stringify(a.body));
		});
	});
	await new Promise((r) => m.server.listen(0, '127.0.0.1', r));
	m.origin = 'http://127.0.0.1:' + m.server.address().port;
	return m;
}

const IDS = { device_id: 'd' + 'x'.repeat(22), phone_id: 'p' + 'y'.repeat(22),
    phone_secret: 'z'.repeat(43) };

test('redeem: success, and each error the relay can give', async () => {
	const m = await mockRelay();
	try {
		const phoneKey = generateKeyPair();
		const args = { relay: m.origin + '/', token: TOK, code: '0042',
		    secret: S, phoneKey, label: 'my phone' };
		m.answer = { status: 200, body: IDS };
		assert.deepEqual(await redeem(args), { deviceId: IDS.device_id,
		    phoneId: IDS.phone_id, phoneSecret: IDS.phone_secret });
		const req = m.seen.at(-1);
		assert.equal(req.method, 'POST');
		assert.equal(req.url, '/pair/redeem');
		assert.equal(req.type, 'application/json');
		assert.deepEqual(req.body, { token: TOK,
		    phone_pub: b64uEncode(phoneKey.pub), label: 'my phone',
		    proof: pairProof(S, TOK, phoneKey.pub, '0042') });

		const cases = [
			[401, { code: 'wrong_code', message: 'wrong code',
			    tries_left: 3 }, 'Wrong code: 3 tries left', 3],
			[401, { code: 'wrong_code', message: 'wrong code',
			    tries_left: 1 }, 'Wrong code: 1 try left', 1],
			[410, { code: 'link_burned', message: 'burned' },
			    /no longer works.*loopsy mobile pair/],
			[410, { code: 'link_used', message: 'used' },
			    'This link was used up: run `loopsy mobile pair` ' +
			    'again on the laptop'],
			[401, { code: 'expired', message: 'expired' },
			    /expired: run `loopsy mobile pair`/],
			[401, { code: 'bad_token', message: 'bad token' },
			    /not one this relay issued/],
			[503, { code: 'device_offline', message: 'offline' },
			    /laptop is not connected/],
			[429, { code: 'rate_limited', message: 'slow down' },
			    'Too many tries: wait 30 seconds and try again'],
			[403, { code: 'forbidden_origin', message: 'no' },
			    /refuses requests from this page/],
			[400, { code: 'bad_request', message: 'label too long' },
			    /refused to pair this phone: label too long/],
		];
		for (const [status, error, msg, tries] of cases) {
			m.answer = { status, body: { error },
			    headers: status === 429 ? { 'Retry-After': '30' } :
			    {} };
			await assert.rejects(redeem(args), (err) => {
				assert.ok(err instanceof PairError);
				assert.equal(err.code, error.code);
				assert.equal(err.status, status);
				if (typeof msg === 'string')
					assert.equal(err.message, msg);
				else
					assert.match(err.message, msg);
				assert.equal(err.triesLeft, tries ?? null);
				return true;
			}, error.code);
		}
		/* Not JSON, and a 200 without the ids. */
		m.answer = { status: 502, body: '<html>bad gateway</html>' };
		await assert.rejects(redeem(args), { code: 'bad_response',
		    message: /HTTP 502/ });
		m.answer = { status: 200, body: { ok: true } };
		await assert.rejects(redeem(args), { code: 'bad_response' });
		/* A bad code never leaves the phone. */
		const before = m.seen.length;
		for (const code of ['123', '12345', 'abcd', '', 1234]) {
			await assert.rejects(redeem({ ...args, code }),
			    { code: 'bad_code', message: /4 digits/ });
		}
		assert.equal(m.seen.length, before);
	} finally {
		m.server.close();
	}
});

test('redeem: the relay cannot be reached', async () => {
	const m = await mockRelay();
	const origin = m.origin;
	await new Promise((r) => m.server.close(r));
	await assert.rejects(redeem({ relay: origin, token: TOK, code: '1234',
	    secret: S, phoneKey: generateKeyPair() }),
	    { code: 'network', message: /Could not reach the relay/ });
	await assert.rejects(redeem({ relay: null, token: TOK, code: '1234',
	    secret: S, phoneKey: generateKeyPair() }),
	    { code: 'bad_request', message: /No relay/ });
	/* A fetch that is passed in is used. */
	let called = 0;
	const fetch = async (url, init) => {
		called++;
		assert.equal(url, 'https://r.example/pair/redeem');
		assert.equal(init.method, 'POST');
		return new Response(JSON.stringify(IDS), { status: 200 });
	};
	const r = await redeem({ relay: 'https://r.example', token: TOK,
	    code: '9999', secret: S, phoneKey: generateKeyPair(), fetch });
	assert.equal(r.phoneId, IDS.phone_id);
	assert.equal(called, 1);
});
