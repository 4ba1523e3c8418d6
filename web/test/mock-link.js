// mock-link.js: a Link (src/link.js's API) with a scripted laptop behind
// it, for the UI tests.  window.mockServer holds the laptop's sessions and
// records what the app sent; the test drives it with page.evaluate():
//   mockServer.drop(kind)        network loss on every live Link, back soon
//   mockServer.setStatus(s, why) push a status to every live Link
//   mockServer.output(id, text)  the session writes text
//   mockServer.detach(id, why)   the session's clients are detached
// Attach keeps per resume token what that client has seen, so a client
// that asks for history again, or without its token, gets lines twice and
// the test sees it.

import { MSG } from './mock-proto.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

const server = {
	sessions: [
		{ id: 1, name: 'build', command: 'make -j4', title: '',
		    idle_ms: 125000, attached: 0, status: 'running',
		    width: 80, height: 24 },
		{ id: 2, name: 'claude', command: 'claude', title:
		    'Claude Code: refactor the parser', idle_ms: 4000,
		    attached: 1, status: 'running', width: 120, height: 40 },
		{ id: 3, name: 'old', command: 'sh', title: '',
		    idle_ms: 86400000 * 3, status: 'exited', exit: 0 }
	],
	launch: {
		agents: [
			{ name: 'shell', installed: true, auto: null,
			    granted: false },
			{ name: 'claude', installed: true,
			    auto: '--dangerously-skip-permissions',
			    granted: true },
			{ name: 'codex', installed: true,
			    auto: '--dangerously-bypass-approvals-and-sandbox',
			    granted: false },
			{ name: 'gemini', installed: false, auto: '--yolo',
			    granted: false },
			{ name: 'opencode', installed: false, auto: null,
			    granted: false }
		],
		commands: [{ name: 'logs', command: 'tail -f /var/log/app.log' }]
	},
	logs: {},		/* id -> array of output chunks */
	seen: {},		/* resume token -> chunks delivered */
	links: [],
	commands: [],		/* {link, argv, extra} */
	sent: [],		/* {link, type, bytes} */
	pings: 0,
	delay: 20,
	offline: false,
	nextId: 10,

	live() {
		return this.links.filter((l) => l.running);
	},
	setStatus(status, reason) {
		for (const l of this.live())
			l._set(status, reason);
	},
	/* Network loss: every live Link reconnects after ms. */
	drop(ms = 60) {
		for (const l of this.live()) {
			l._lost();
			setTimeout(() => l._connect(), ms);
		}
	},
	output(id, text) {
		const log = this.logs[id] || (this.logs[id] = []);
		log.push(text);
		setTimeout(save, 0);
		for (const l of this.live()) {
			if (l.attachedTo === id) {
				l._frame(MSG.OUTPUT, enc.encode(text));
				if (l.token)
					this.seen[l.token] = log.length;
			}
		}
	},
	detach(id, reason) {
		for (const l of this.live()) {
			if (l.attachedTo === id) {
				l.attachedTo = null;
				l._frame(MSG.DETACH, enc.encode(JSON.stringify({
				    reason, session: this.find(id).name })));
			}
		}
	},
	find(id) {
		return this.sessions.find((s) => String(s.id) === String(id));
	},
	inputOf(link) {
		return this.sent.filter((s) => s.type === MSG.INPUT &&
		    (link === undefined || s.link === link))
		    .map((s) => dec.decode(new Uint8Array(s.bytes))).join('');
	}
};
/* (Guarded: node --test imports every file under test/.) */
globalThis.mockServer = server;

/* The laptop outlives a page reload: its state is kept in sessionStorage. */
const KEEP = ['sessions', 'logs', 'seen', 'nextId'];
function save() {
	if (typeof sessionStorage === 'undefined')
		return;
	const o = {};
	for (const k of KEEP)
		o[k] = server[k];
	sessionStorage.setItem('mock.laptop', JSON.stringify(o));
}
try {
	if (typeof sessionStorage !== 'undefined')
		Object.assign(server, JSON.parse(sessionStorage.getItem(
		    'mock.laptop')));
} catch (e) {
	/* a new laptop */
}
server.save = save;

function reply(ok, stdout, error, rep) {
	return { ok, exit: ok ? 0 : 1, error: error || null,
	    stdout: stdout || '', stderr: '', reply: rep || { ok } };
}

export class Link extends EventTarget {
	constructor(opts) {
		super();
		this.opts = opts;
		this.n = server.links.length;
		this._status = 'connecting';
		this.reason = '';
		this.running = false;
		this.pending = null;
		this.attachedTo = null;
		this.token = null;
		server.links.push(this);
	}

	get status() {
		return this._status;
	}

	_set(status, reason) {
		this._status = status;
		this.reason = reason || '';
		this.dispatchEvent(new CustomEvent('status',
		    { detail: { status, reason: this.reason } }));
	}

	_frame(type, payload) {
		this.dispatchEvent(new CustomEvent('frame',
		    { detail: { type, payload } }));
	}

	_lost() {
		this.attachedTo = null;
		if (this.pending !== null) {
			this.pending.reject(new Error('link dropped'));
			this.pending = null;
		}
		this._set('reconnecting');
	}

	_connect() {
		if (!this.running)
			return;
		if (server.offline) {
			this._set('offline');
			return;
		}
		this._set('connected');
		this.dispatchEvent(new Event('open'));
	}

	start() {
		this.running = true;
		this._set('connecting');
		setTimeout(() => this._connect(), server.delay);
	}

	stop() {
		this.running = false;
		this.stopped = true;
		if (this.attachedTo !== null) {
			const s = server.find(this.attachedTo);
			if (s)
				s.attached = Math.max(0, (s.attached || 1) - 1);
		}
		this.attachedTo = null;
		if (this.pending !== null) {
			this.pending.reject(new Error('stopped'));
			this.pending = null;
		}
	}

	pingNow() {
		server.pings++;
	}

	send(type, payload) {
		if (this._status !== 'connected')
			throw new Error('not connected');
		server.sent.push({ link: this.n, type,
		    bytes: Array.from(payload) });
		if (type === MSG.INPUT && this.attachedTo !== null) {
			/* A line discipline of sorts: echo, CR starts a line. */
			const t = dec.decode(payload);
			if (/^[\x20-\x7e\r]+$/.test(t))
				server.output(this.attachedTo,
				    t.replace(/\r/g, '\r\n$ '));
		}
	}

	command(argv, extra = {}) {
		server.commands.push({ link: this.n, argv, extra });
		if (this._status !== 'connected')
			return Promise.reject(new Error('not connected'));
		if (this.pending !== null)
			return Promise.reject(new Error('one command at a time'));
		return new Promise((resolve, reject) => {
			this.pending = { resolve, reject };
			setTimeout(() => {
				if (this.pending === null ||
				    this.pending.resolve !== resolve)
					return;
				this.pending = null;
				this._run(argv, extra, resolve);
			}, 5);
		});
	}

	_run(argv, extra, resolve) {
		const cmd = argv[0];
		if (cmd === 'list-sessions') {
			resolve(reply(true, JSON.stringify(server.sessions) +
			    '\n'));
		} else if (cmd === 'launch' && argv[1] === '--list') {
			resolve(reply(true, JSON.stringify(server.launch)));
		} else if (cmd === 'launch') {
			const what = argv[1];
			const i = argv.indexOf('-s');
			const id = server.nextId++;
			const s = { id, name: i > 0 ? argv[i + 1] : what + id,
			    command: what, title: '', idle_ms: 0, attached: 0,
			    status: 'running', auto: argv.includes('--auto') };
			server.sessions.push(s);
			server.logs[id] = ['[' + what + ' started]\r\n$ '];
			save();
			resolve(reply(true, JSON.stringify(s) + '\n'));
		} else if (cmd === 'display-message') {
			resolve(reply(true, 'mockbook\n'));
		} else if (cmd === 'attach-session') {
			this._attach(argv, extra, resolve);
		} else {
			resolve(reply(false, '', { code: 'unknown-command',
			    message: 'unknown command: ' + cmd }));
		}
	}

	_attach(argv, extra, resolve) {
		const id = String(argv[argv.indexOf('-t') + 1]).replace(/^\$/,
		    '');
		const s = server.find(id);
		if (!s) {
			resolve(reply(false, '', { code: 'not-found',
			    message: 'can\'t find session: $' + id }));
			return;
		}
		if (s.status === 'exited') {
			resolve(reply(false, '', { code: 'session-ended',
			    message: 'session ' + s.name + ' has ended' }));
			return;
		}
		const log = server.logs[s.id] || (server.logs[s.id] = [
		    'welcome to ' + s.name + '\r\n',
		    'line two of ' + s.name + '\r\n', '$ ']);
		this.attachedTo = s.id;
		this.token = extra.resume || null;
		s.attached = (s.attached || 0) + 1;
		resolve(reply(true, '', null, { ok: true, attach: true,
		    session: s.name, sessionId: s.id }));
		/* History for a fresh terminal; else what this token missed. */
		let from = 0;
		if (!extra.history && this.token && this.token in server.seen)
			from = server.seen[this.token];
		const chunks = log.slice(from);
		setTimeout(() => {
			if (this.attachedTo !== s.id)
				return;
			for (const c of chunks)
				this._frame(MSG.OUTPUT, enc.encode(c));
			if (this.token)
				server.seen[this.token] = log.length;
			save();
		}, 0);
	}
}
