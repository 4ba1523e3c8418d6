// web/src/proto.js: the loopsy protocol frames (common/proto.h), which the
// phone speaks inside its Noise channel exactly as a client does on the Unix
// socket: a 4-byte big-endian length of type+payload, a type byte, the
// payload.  Control messages are JSON; terminal data and input are binary.

export const MSG = Object.freeze({
	HELLO: 1,	/* JSON both ways: {"proto":[min,max]} / {"proto","version","pid"} */
	COMMAND: 2,	/* JSON to the server: {"id","argv","tty",...} */
	REPLY: 3,	/* JSON from the server: {"id","ok","exit","error",...} */
	OUTPUT: 4,	/* bytes for the terminal */
	KEYS: 5,	/* n * 8-byte big-endian key codes */
	PASTE: 6,	/* pasted bytes */
	RESIZE: 7,	/* u16 cols, u16 rows */
	MOUSE: 8,	/* u8 button, pressed, mods; u16 x, y */
	DETACH: 9,	/* JSON from the server: {"reason","session","exit"} */
	FOCUS: 10,	/* u8 in */
	STDOUT: 11,	/* command output as it comes, before the reply */
	TTY: 12,	/* local clients only */
	STDERR: 13,	/* command error output as it comes */
	DATA: 14,	/* file transfer chunks */
	INPUT: 15,	/* raw bytes as a terminal sends them */
});

export const PROTO_VERSION = 1;
export const PROTO_HEADER = 5;
export const PROTO_MAX_FRAME = 4 * 1024 * 1024;

const NAMES = Object.fromEntries(Object.entries(MSG).map(([k, v]) => [v, k]));
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/* A type's name for messages: "OUTPUT", or "type 99". */
export function typeName(type) {
	return NAMES[type] ?? 'type ' + type;
}

function payloadBytes(payload) {
	if (payload === undefined || payload === null)
		return new Uint8Array(0);
	if (payload instanceof Uint8Array)
		return payload;
	if (payload instanceof ArrayBuffer)
		return new Uint8Array(payload);
	if (ArrayBuffer.isView(payload)) {
		return new Uint8Array(payload.buffer, payload.byteOffset,
		    payload.byteLength);
	}
	if (typeof payload === 'string')
		return encoder.encode(payload);
	return encoder.encode(JSON.stringify(payload));
}

/* One frame: payload is bytes, a string (UTF-8) or an object (JSON). */
export function encodeFrame(type, payload) {
	if (!Number.isInteger(type) || type < 1 || type > 255)
		throw new Error('bad frame type ' + type);
	const p = payloadBytes(payload);
	const n = p.length + 1;
	if (n > PROTO_MAX_FRAME) {
		throw new Error('frame of ' + n + ' bytes exceeds the ' +
		    PROTO_MAX_FRAME + ' byte limit');
	}
	const out = new Uint8Array(4 + n);
	out[0] = n >>> 24;
	out[1] = n >>> 16 & 0xff;
	out[2] = n >>> 8 & 0xff;
	out[3] = n & 0xff;
	out[4] = type;
	out.set(p, 5);
	return out;
}

/* MSG_RESIZE's payload. */
export function resizePayload(cols, rows) {
	if (!Number.isInteger(cols) || !Number.isInteger(rows) ||
	    cols < 1 || rows < 1 || cols > 0xffff || rows > 0xffff)
		throw new Error('bad terminal size ' + cols + 'x' + rows);
	return Uint8Array.of(cols >> 8, cols & 0xff, rows >> 8, rows & 0xff);
}

/* The hello every client sends first. */
export function helloPayload() {
	return { proto: [PROTO_VERSION, PROTO_VERSION] };
}

/* A JSON frame's payload as an object; throws naming the frame type. */
export function parseJson(type, payload) {
	try {
		return JSON.parse(decoder.decode(payload));
	} catch {
		throw new Error('bad JSON in a ' + typeName(type) + ' frame');
	}
}

/*
 * Frames out of a byte stream cut anywhere: push() what arrives and get
 * back the frames it completes.  An empty frame or one over
 * PROTO_MAX_FRAME throws, and the reader is then dead.
 */
export class FrameReader {
	constructor(max = PROTO_MAX_FRAME) {
		this.max = max;
		this.chunks = [];	/* pending input */
		this.length = 0;	/* bytes in chunks */
		this.head = 0;		/* bytes of chunks[0] already used */
		this.need = 0;		/* length of the frame being read */
		this.dead = null;
	}

	/* Bytes held that are not in a frame yet. */
	get buffered() {
		return this.length + (this.need !== 0 ? 4 : 0);
	}

	/* Take n bytes off the front (n <= this.length). */
	take(n) {
		const first = this.chunks[0];
		if (first.length - this.head >= n) {
			const out = first.subarray(this.head, this.head + n);
			this.head += n;
			if (this.head === first.length) {
				this.chunks.shift();
				this.head = 0;
			}
			this.length -= n;
			return out;
		}
		const out = new Uint8Array(n);
		let o = 0;
		while (o < n) {
			const c = this.chunks[0];
			const k = Math.min(c.length - this.head, n - o);
			out.set(c.subarray(this.head, this.head + k), o);
			o += k;
			this.head += k;
			if (this.head === c.length) {
				this.chunks.shift();
				this.head = 0;
			}
		}
		this.length -= n;
		return out;
	}

	push(bytes) {
		if (this.dead !== null)
			throw new Error(this.dead);
		if (bytes instanceof ArrayBuffer)
			bytes = new Uint8Array(bytes);
		if (bytes.length !== 0) {
			/* Copy: the caller may reuse its buffer. */
			this.chunks.push(Uint8Array.from(bytes));
			this.length += bytes.length;
		}
		const frames = [];
		for (;;) {
			if (this.need === 0) {
				if (this.length < 4)
					break;
				const h = this.take(4);
				const n = (h[0] << 24 >>> 0) + (h[1] << 16) +
				    (h[2] << 8) + h[3];
				if (n === 0) {
					this.dead = 'empty frame (length 0)';
					throw new Error(this.dead);
				}
				if (n > this.max) {
					this.dead = 'frame of ' + n + ' bytes ' +
					    'exceeds the ' + this.max +
					    ' byte limit';
					throw new Error(this.dead);
				}
				this.need = n;
			}
			if (this.length < this.need)
				break;
			const f = this.take(this.need);
			this.need = 0;
			frames.push({ type: f[0], payload: f.slice(1) });
		}
		return frames;
	}
}
