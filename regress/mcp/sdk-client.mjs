// regress/mcp/sdk-client.mjs: drive "loopsy mcp" with the official MCP
// TypeScript SDK as the client.  Usage: node sdk-client.mjs CONFIG.json
// where CONFIG (written by regress/test-mcp-sdk.py) names the loopsy binary
// and two servers, each {socket, home, port, env}: "a", the local server,
// whose peers are PEER (server "b") and OFFLINE (a port nothing listens
// on), and "b", whose peer BACK is "a".
//
// Prints one JSON object a line, {"ok":bool,"name":...,"diag":...}, which
// regress/test-mcp-sdk.py turns into TAP, and last {"covered":{"local":
// [...],"peer":[...]}}: the tools that answered a good result without and
// with peer.  The environment is passed to the servers explicitly:
// StdioClientTransport would otherwise pass only HOME, PATH and a few more
// (DEPS.md section 8).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CallToolResultSchema, InitializeResultSchema, ListToolsResultSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { a: A, b: B, peer: PEER, back: BACK, offline: OFFLINE } = cfg;
function serverFor(h) {
  return { command: cfg.loopsy, args: ['-S', h.socket, 'mcp'],
    env: { ...h.env }, cwd: h.home, stderr: 'inherit' };
}
const server = serverFor(A);
const VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

// ajv 8 (with JSON Schema 2020-12) comes with the SDK.
const sdkRequire = createRequire(new URL(
  './node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url));
const Ajv2020 = sdkRequire('ajv/dist/2020').default;

let failed = 0;
function ok(cond, name, diag) {
  if (!cond) failed++;
  console.log(JSON.stringify({ ok: !!cond, name,
    diag: diag === undefined || diag === null ? undefined : String(diag) }));
  return !!cond;
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)),
      ms);
  })]).finally(() => clearTimeout(t));
}

// Raw JSON-RPC over the SDK's stdio transport: initialize at one version.
async function rawSession(version) {
  const t = new StdioClientTransport(server);
  const pending = new Map();
  let next = 0;
  t.onmessage = (m) => {
    const p = pending.get(m.id);
    if (p) { pending.delete(m.id); p(m); }
  };
  await t.start();
  const request = (method, params) => withTimeout(new Promise((res) => {
    const id = next++;
    pending.set(id, res);
    t.send({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
  }), 15000, method);
  return { t, request };
}

async function initializeAt(version) {
  const { t, request } = await rawSession(version);
  try {
    const r = await request('initialize', { protocolVersion: version,
      capabilities: {}, clientInfo: { name: 'loopsy-regress', version: '1' } });
    const parsed = InitializeResultSchema.safeParse(r.result);
    ok(parsed.success, `initialize at ${version}: result matches the SDK schema`,
      JSON.stringify(r));
    ok(r.result && r.result.protocolVersion === version,
      `initialize at ${version}: server answers ${version}`, JSON.stringify(r));
    ok(r.result && r.result.capabilities && r.result.capabilities.tools,
      `initialize at ${version}: tools capability`, JSON.stringify(r));
    await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const l = await request('tools/list');
    ok(ListToolsResultSchema.safeParse(l.result).success &&
      l.result.tools.length > 0, `tools/list at ${version}: tools listed`,
      JSON.stringify(l).slice(0, 500));
    const p = await request('ping');
    ok(p.result && Object.keys(p.result).length === 0,
      `ping at ${version}: empty result`, JSON.stringify(p));
  } finally {
    await t.close();
  }
}

// A value for a schema property, by its name and type.
function sample(name, prop, values) {
  const v = values[name];
  const type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
  if (type === 'array') return v === undefined ? [] : String(v).split(' ');
  if (type === 'integer' || type === 'number') return 1;
  if (type === 'boolean') return false;
  return v === undefined ? 'x' : v;
}

function argsFor(tool, values) {
  const s = tool.inputSchema || {};
  const args = {};
  for (const [name, prop] of Object.entries(s.properties || {})) {
    if (values[name] !== undefined || (s.required || []).includes(name))
      args[name] = sample(name, prop, values);
  }
  return args;
}

function text(result) {
  return (result.content || []).filter((c) => c.type === 'text')
    .map((c) => c.text).join('\n');
}

async function callOk(client, tools, name, values, want) {
  const tool = tools.find((t) => t.name === name);
  if (!ok(tool, `${name} is listed`, tools.map((t) => t.name).join(' ')))
    return null;
  const args = argsFor(tool, values);
  try {
    const r = await withTimeout(client.callTool({ name, arguments: args },
      CallToolResultSchema), 30000, name);
    ok(r.isError !== true, `${name} ${JSON.stringify(args)}: isError false`,
      text(r));
    if (want !== undefined)
      ok(text(r).includes(want) ||
        JSON.stringify(r.structuredContent || {}).includes(want),
      `${name}: result holds ${JSON.stringify(want)}`, JSON.stringify(r));
    return r;
  } catch (e) {
    ok(false, `${name} ${JSON.stringify(args)}: call succeeds`, e.stack);
    return null;
  }
}

// ------------------------------------------------- every tool, checked

// The tools that gave a good result, without peer and with one.
const covered = { local: new Set(), peer: new Set() };

async function rawCall(c, name, args) {
  return withTimeout(c.callTool({ name, arguments: args },
    CallToolResultSchema), 60000, `${name} ${JSON.stringify(args)}`);
}

// One TAP point: the call resolves with isError false, a text content and
// a structuredContent object, and check(structuredContent, text) is true
// (or says what is wrong).  The result, or null.
async function good(c, label, name, args, check) {
  let r;
  try {
    r = await rawCall(c, name, args);
  } catch (e) {
    ok(false, label, `${name} ${JSON.stringify(args)} rejected: ${e.stack}`);
    return null;
  }
  const t = text(r);
  const s = r.structuredContent;
  let why = null;
  if (r.isError !== false)
    why = `isError is ${JSON.stringify(r.isError)}, not false`;
  else if (t === '')
    why = 'no text content';
  else if (s === null || typeof s !== 'object' || Array.isArray(s))
    why = 'no structuredContent object';
  else {
    try {
      const v = check(s, t);
      if (v !== true)
        why = typeof v === 'string' ? v : 'the result is not as expected';
    } catch (e) {
      why = e.stack;
    }
  }
  if (ok(why === null, label, why === null ? undefined :
    `${why}\n${name} ${JSON.stringify(args)}\n-> ${JSON.stringify(r)}`))
    covered[args.peer === undefined ? 'local' : 'peer'].add(name);
  return r;
}

// One TAP point: the call resolves with isError true and a text holding
// every string of wants.
async function bad(c, label, name, args, wants) {
  let r;
  try {
    r = await rawCall(c, name, args);
  } catch (e) {
    ok(false, label, `${name} ${JSON.stringify(args)} rejected: ${e.stack}`);
    return null;
  }
  const t = text(r);
  const missing = wants.filter((w) => !t.includes(w));
  ok(r.isError === true && missing.length === 0, label,
    `isError ${JSON.stringify(r.isError)}, text lacks ` +
    `${JSON.stringify(missing)}\n${name} ${JSON.stringify(args)}\n-> ` +
    JSON.stringify(r));
  return r;
}

const names = (list, key = 'name') => (list || []).map((x) => x[key]);
const has = (s, want) => JSON.stringify(s).includes(want);

async function localTools(c) {
  const home = A.home;
  let s;

  await good(c, 'local: loopsy_list_peers lists the peer online and the ' +
    'offline one', 'loopsy_list_peers', {}, (s, t) => {
    const p = Object.fromEntries((s.peers || []).map((x) => [x.name, x]));
    return p[PEER] && p[PEER].online === true && p[PEER].port === B.port &&
      p[OFFLINE] && p[OFFLINE].online === false && t.includes(PEER);
  });
  await good(c, 'local: loopsy_peer_status of this server',
    'loopsy_peer_status', {}, (s) => s.peer === 'local' &&
    s.online === true && s.status && s.status.port === A.port);

  await good(c, 'local: loopsy_execute keeps stdout, stderr and exit',
    'loopsy_execute', { command: 'echo out; echo err >&2; exit 3' },
    (s, t) => s.exit === 3 && s.stdout === 'out\n' && s.stderr === 'err\n' &&
    t.includes('exit 3') && t.includes('on local'));
  await good(c, 'local: loopsy_execute with args, cwd and env runs no shell',
    'loopsy_execute', { command: 'sh', args: ['-c', 'printf "%s|%s|%s" ' +
      '"$0" "$PWD" "$SDK_VAR"', 'a b'], cwd: A.env.TMPDIR,
    env: { SDK_VAR: 'from-sdk' } },
    (s) => s.stdout === `a b|${A.env.TMPDIR}|from-sdk` || s.stdout);

  await good(c, 'local: loopsy_session_start with name, cwd and size',
    'loopsy_session_start', { name: 'ed', command: 'cat', cwd: home,
      cols: 100, rows: 30 },
    (s) => s.session && s.session.name === 'ed' && s.session.width === 100 &&
    s.session.height === 30);
  await good(c, 'local: loopsy_session_list shows it', 'loopsy_session_list',
    {}, (s, t) => JSON.stringify(names(s.sessions)) === '["ed"]' &&
    t.startsWith('ed: '));
  await good(c, 'local: loopsy_session_send_keys text and enter',
    'loopsy_session_send_keys', { session: 'ed', text: 'hello sdk',
      enter: true }, (s, t) => t.includes('sent to ed'));
  await good(c, 'local: loopsy_session_wait for text', 'loopsy_session_wait',
    { session: 'ed', for: 'text', regex: '^hello sdk', timeout: 10 },
    (s) => (s.matched || '').includes('hello sdk'));
  await good(c, 'local: loopsy_session_wait for idle', 'loopsy_session_wait',
    { session: 'ed', for: 'idle', idle_ms: 100, timeout: 10 }, () => true);
  await good(c, 'local: loopsy_session_capture the screen',
    'loopsy_session_capture', { session: 'ed' },
    (s, t) => t.split('hello sdk').length === 3 &&
    (s.text || '').includes('hello sdk'));
  await good(c, 'local: loopsy_session_capture a range with attributes',
    'loopsy_session_capture', { session: 'ed', start: '-', end: 0,
      attributes: true, join: true },
    (s) => (s.text || '').includes('hello sdk'));
  await good(c, 'local: loopsy_session_send_keys by name',
    'loopsy_session_send_keys', { session: 'ed', keys: ['C-d'] }, () => true);
  await good(c, 'local: loopsy_session_wait for exit', 'loopsy_session_wait',
    { session: 'ed', for: 'exit', timeout: 10 }, (s) => has(s, 'exited'));
  await bad(c, 'error: unknown session lists the sessions',
    'loopsy_session_capture', { session: 'build' },
    ['no such session "build"; sessions are: ed']);
  await good(c, 'local: loopsy_session_remove', 'loopsy_session_remove',
    { session: 'ed' }, (s) => s.session === 'ed' && s.removed === true);
  await good(c, 'local: loopsy_session_start a program that ignores C-c',
    'loopsy_session_start', { name: 'loop', command: "trap '' INT; echo " +
      'ready; while :; do sleep 1; done' }, (s) => s.session.name === 'loop');
  await good(c, 'local: loopsy_session_wait for it to be ready',
    'loopsy_session_wait', { session: 'loop', for: 'text', regex: '^ready',
      timeout: 10 }, () => true);
  await good(c, 'local: loopsy_session_stop kills what ignores C-c',
    'loopsy_session_stop', { session: 'loop', timeout: 0.5 },
    (s) => s.session === 'loop' && (s.how || '').includes('killed'));
  await bad(c, 'error: unknown session with none left says so',
    'loopsy_session_remove', { session: 'loop' },
    ['no such session "loop"; there are no sessions',
      'loopsy_session_start']);

  fs.writeFileSync(path.join(home, 'src.txt'), 'local copy\n');
  await good(c, 'local: loopsy_transfer_file without peer copies here',
    'loopsy_transfer_file', { direction: 'push',
      source: path.join(home, 'src.txt'),
      destination: path.join(home, 'dst.txt') },
    (s) => fs.readFileSync(path.join(home, 'dst.txt'), 'utf8') ===
    'local copy\n' && s.to === path.join(home, 'dst.txt'));
  await good(c, 'local: loopsy_list_remote_files here',
    'loopsy_list_remote_files', { path: home },
    (s) => has(s, 'dst.txt') && has(s, 'src.txt'));

  await good(c, 'local: loopsy_context_set with ttl', 'loopsy_context_set',
    { key: 'k1', value: 'v1', ttl: 600 },
    (s, t) => s.key === 'k1' && s.set === true && t.includes('on local'));
  await good(c, 'local: loopsy_context_get', 'loopsy_context_get',
    { key: 'k1' }, (s, t) => s.value === 'v1' && t === 'v1');
  await good(c, 'local: loopsy_context_list with prefix',
    'loopsy_context_list', { prefix: 'k' },
    (s) => JSON.stringify(names(s.entries, 'key')) === '["k1"]');
  await good(c, 'local: loopsy_context_delete', 'loopsy_context_delete',
    { key: 'k1' }, (s) => s.key === 'k1' && s.deleted === true);
  await bad(c, 'local: loopsy_context_get of a deleted key says what to do',
    'loopsy_context_get', { key: 'k1' }, ['loopsy_context_list']);

  const r = await good(c, 'local: loopsy_send_message here',
    'loopsy_send_message', { body: 'note to self' },
    (s) => typeof s.id === 'string' && s.id !== '' && s.to === 'local');
  const mid = r && r.structuredContent && r.structuredContent.id;
  await good(c, 'local: loopsy_check_inbox here', 'loopsy_check_inbox', {},
    (s, t) => JSON.stringify(names(s.messages, 'id')) ===
    JSON.stringify([mid]) && t.includes('note to self'));
  await good(c, 'local: loopsy_ack_message here', 'loopsy_ack_message',
    { id: mid }, (s) => s.id === mid && s.ackedTo === 'local');
  await good(c, 'local: loopsy_check_ack here', 'loopsy_check_ack',
    { id: mid }, (s) => s.acked === true);
  await bad(c, 'error: ack of an unknown message says what to do',
    'loopsy_ack_message', { id: '1-nope-0000' }, ['loopsy_check_inbox']);
}

async function peerTools(c, cb) {
  const P = { peer: PEER };

  await good(c, 'peer: loopsy_peer_status of the peer', 'loopsy_peer_status',
    P, (s) => s.peer === PEER && s.online === true && s.status &&
    s.status.port === B.port);
  await bad(c, 'peer: loopsy_list_peers with peer says to call it without',
    'loopsy_list_peers', P, ['without peer']);

  await good(c, 'peer: loopsy_execute runs there', 'loopsy_execute',
    { ...P, command: 'echo $HOME' },
    (s, t) => s.stdout === `${B.home}\n` && t.includes(`on ${PEER}`));
  await good(c, 'peer: loopsy_execute with args and cwd', 'loopsy_execute',
    { ...P, command: 'pwd', args: [], cwd: B.env.TMPDIR },
    (s) => s.stdout === `${B.env.TMPDIR}\n` || s.stdout);

  await good(c, 'peer: loopsy_session_start there', 'loopsy_session_start',
    { ...P, name: 'pjob', command: 'cat', cwd: B.home, cols: 90, rows: 20 },
    (s) => s.session.name === 'pjob' && s.session.width === 90 &&
    s.session.height === 20);
  await good(c, 'peer: loopsy_session_list there', 'loopsy_session_list', P,
    (s) => JSON.stringify(names(s.sessions)) === '["pjob"]');
  await good(c, 'local: loopsy_session_list does not show the peer\'s',
    'loopsy_session_list', {}, (s) => s.sessions.length === 0 ||
    JSON.stringify(s.sessions));
  await good(c, 'peer: loopsy_session_send_keys there',
    'loopsy_session_send_keys', { ...P, session: 'pjob', text: 'peer line',
      enter: true }, (s, t) => t.includes(`on ${PEER}`));
  await good(c, 'peer: loopsy_session_wait for text there',
    'loopsy_session_wait', { ...P, session: 'pjob', for: 'text',
      regex: '^peer line', timeout: 10 },
    (s) => (s.matched || '').includes('peer line'));
  await good(c, 'peer: loopsy_session_wait for idle there',
    'loopsy_session_wait', { ...P, session: 'pjob', for: 'idle',
      idle_ms: 100, timeout: 10 }, () => true);
  await good(c, 'peer: loopsy_session_capture there',
    'loopsy_session_capture', { ...P, session: 'pjob', start: -20 },
    (s, t) => t.split('peer line').length === 3);
  await bad(c, 'error: unknown session on a peer lists its sessions',
    'loopsy_session_capture', { ...P, session: 'build' },
    ['no such session "build"; sessions are: pjob']);
  await good(c, 'peer: loopsy_session_stop interrupts there',
    'loopsy_session_stop', { ...P, session: 'pjob', timeout: 10 },
    (s, t) => (s.how || '').includes('interrupted') &&
    t.includes(`on ${PEER}`));
  await good(c, 'peer: loopsy_session_wait for exit there',
    'loopsy_session_wait', { ...P, session: 'pjob', for: 'exit',
      timeout: 10 }, (s) => has(s, 'exited'));
  await good(c, 'peer: loopsy_session_remove there', 'loopsy_session_remove',
    { ...P, session: 'pjob' }, (s) => s.removed === true);
  await good(c, 'peer: the session is gone there', 'loopsy_session_list', P,
    (s) => s.sessions.length === 0 || JSON.stringify(s.sessions));

  fs.writeFileSync(path.join(A.home, 'push.txt'), 'pushed\n');
  await good(c, 'peer: loopsy_transfer_file push', 'loopsy_transfer_file',
    { ...P, direction: 'push', source: path.join(A.home, 'push.txt'),
      destination: path.join(B.home, 'in.txt') },
    (s) => fs.readFileSync(path.join(B.home, 'in.txt'), 'utf8') ===
    'pushed\n' && s.to === `${PEER}:${path.join(B.home, 'in.txt')}`);
  await good(c, 'peer: loopsy_execute makes a file there', 'loopsy_execute',
    { ...P, command: 'echo binary > artefact.bin', cwd: B.home },
    (s) => s.exit === 0);
  await good(c, 'peer: loopsy_transfer_file pull', 'loopsy_transfer_file',
    { ...P, direction: 'pull', source: path.join(B.home, 'artefact.bin'),
      destination: path.join(A.home, 'artefact.bin') },
    (s) => fs.readFileSync(path.join(A.home, 'artefact.bin'), 'utf8') ===
    'binary\n' && s.from === `${PEER}:${path.join(B.home, 'artefact.bin')}`);
  await good(c, 'peer: loopsy_list_remote_files there',
    'loopsy_list_remote_files', { ...P, path: B.home },
    (s) => has(s, 'in.txt') && has(s, 'artefact.bin') && !has(s, 'push.txt'));
  await bad(c, 'peer: a pull the peer\'s policy refuses says why',
    'loopsy_transfer_file', { ...P, direction: 'pull', source: '/etc/passwd',
      destination: path.join(A.home, 'passwd') }, ['allowedPaths']);

  await good(c, 'peer: loopsy_context_set there', 'loopsy_context_set',
    { ...P, key: 'pk', value: 'pv' },
    (s, t) => s.key === 'pk' && s.set === true && t.includes(`on ${PEER}`));
  await good(cb, 'peer: the peer\'s own client reads the value',
    'loopsy_context_get', { key: 'pk' }, (s) => s.value === 'pv');
  await good(c, 'peer: loopsy_context_get there', 'loopsy_context_get',
    { ...P, key: 'pk' }, (s, t) => s.value === 'pv' && t === 'pv');
  await good(c, 'peer: loopsy_context_list there', 'loopsy_context_list',
    { ...P, prefix: 'p' },
    (s) => JSON.stringify(names(s.entries, 'key')) === '["pk"]');
  await good(c, 'peer: loopsy_context_delete there', 'loopsy_context_delete',
    { ...P, key: 'pk' }, (s) => s.deleted === true);
  await bad(cb, 'peer: the key is gone from the peer\'s store',
    'loopsy_context_get', { key: 'pk' }, ['no such key']);

  await good(c, 'local: loopsy_broadcast_context reports each peer',
    'loopsy_broadcast_context', { key: 'bk', value: 'bv', ttl: 600 },
    (s) => {
      const p = Object.fromEntries((s.peers || []).map((x) => [x.peer, x]));
      return s.local === true && s.written === 1 && s.failed === 1 &&
        p[PEER] && p[PEER].ok === true && p[OFFLINE] &&
        p[OFFLINE].ok === false && (p[OFFLINE].error || '')
        .includes('offline');
    });
  await good(cb, 'peer: the broadcast value reached the peer',
    'loopsy_context_get', { key: 'bk' }, (s) => s.value === 'bv');

  // Messages: A leaves one in B's inbox; B acks it to A (its peer BACK).
  const r = await good(c, 'peer: loopsy_send_message to the peer',
    'loopsy_send_message', { ...P, body: 'artefact taken', type: 'response' },
    (s, t) => typeof s.id === 'string' && s.id !== '' && s.to === PEER &&
    t.includes('loopsy_check_ack'));
  const mid = r && r.structuredContent && r.structuredContent.id;
  await good(c, 'peer: loopsy_check_inbox of the peer', 'loopsy_check_inbox',
    P, (s) => (s.messages || []).some((m) => m.id === mid &&
    m.body === 'artefact taken' && m.type === 'response'));
  await good(c, 'local: loopsy_check_ack before the peer acks',
    'loopsy_check_ack', { id: mid }, (s) => s.acked === false);
  await good(cb, 'peer: loopsy_ack_message to the sender as a peer',
    'loopsy_ack_message', { id: mid, peer: BACK },
    (s) => s.id === mid && s.ackedTo === BACK);
  await good(c, 'local: loopsy_check_ack after the peer acks',
    'loopsy_check_ack', { id: mid }, (s) => s.acked === true &&
    (s.acks || []).some((x) => x.id === mid));
  await good(cb, 'peer: loopsy_check_ack in the sender\'s store',
    'loopsy_check_ack', { id: mid, peer: BACK }, (s) => s.acked === true);
  await good(c, 'peer: the acked message left the peer\'s inbox',
    'loopsy_check_inbox', P,
    (s) => !(s.messages || []).some((m) => m.id === mid));
}

async function errors(c) {
  await bad(c, 'error: offline peer (execute)', 'loopsy_execute',
    { peer: OFFLINE, command: 'true' }, [`peer "${OFFLINE}" is offline`]);
  await bad(c, 'error: offline peer (peer_status)', 'loopsy_peer_status',
    { peer: OFFLINE }, [`peer "${OFFLINE}" is offline`]);
  await bad(c, 'error: offline peer (session_list)', 'loopsy_session_list',
    { peer: OFFLINE }, [`peer "${OFFLINE}" is offline`]);
  await bad(c, 'error: unknown peer', 'loopsy_context_list',
    { peer: 'nobody' }, ['unknown peer']);
  await bad(c, 'error: denied command says which rule', 'loopsy_execute',
    { command: 'rm', args: ['-rf', path.join(A.env.TMPDIR, 'x')] },
    ['denylist']);
  await bad(c, 'error: denied command on a peer', 'loopsy_execute',
    { peer: PEER, command: 'rm', args: ['-rf', '/nonexistent'] },
    ['denylist']);
  await bad(c, 'error: missing required argument names it',
    'loopsy_session_send_keys', { text: 'x' }, ['"session"']);
  await bad(c, 'error: wrong type names the argument', 'loopsy_execute',
    { command: 'true', timeout: 'soon' }, ['"timeout"', 'number']);
  await bad(c, 'error: wrong type (array) names the argument',
    'loopsy_session_send_keys', { session: 'x', keys: 'Enter' },
    ['"keys"', 'array']);
  await bad(c, 'error: value outside the enum lists the choices',
    'loopsy_session_wait', { session: 'x', for: 'soon' },
    ['"for"', 'exit', 'text', 'idle']);
  await bad(c, 'error: unknown argument lists the known ones',
    'loopsy_session_capture', { session: 'x', colour: true },
    ['"colour"', 'attributes']);
}

async function main() {
  for (const v of VERSIONS) {
    try {
      await initializeAt(v);
    } catch (e) {
      ok(false, `initialize at ${v}`, e.stack);
    }
  }

  const transport = new StdioClientTransport(server);
  const client = new Client({ name: 'loopsy-regress', version: '1.0.0' });
  const clientB = new Client({ name: 'loopsy-regress-b', version: '1.0.0' });
  try {
    await withTimeout(client.connect(transport), 15000, 'connect');
    ok(true, 'the SDK Client connects (initialize, initialized)');
    const v = client.getServerVersion();
    ok(v && v.name, 'serverInfo has a name', JSON.stringify(v));
    const { tools } = await withTimeout(client.listTools(), 15000, 'list');
    ok(tools.length > 0, `tools/list: ${tools.length} tools`);
    console.log(JSON.stringify({ tools: tools.map((t) => t.name) }));

    const ajv = new Ajv2020({ strict: true, strictTypes: false,
      strictTuples: false, strictRequired: false, allErrors: true });
    for (const t of tools) {
      const s = t.inputSchema;
      ok(/^[A-Za-z0-9_.-]{1,128}$/.test(t.name) && typeof t.description ===
        'string' && t.description.length > 0,
      `${t.name}: a valid name and a description`);
      let compiled = false;
      let err;
      try {
        ajv.compile(s);
        compiled = true;
      } catch (e) {
        err = e.message;
      }
      ok(s && s.type === 'object' && compiled,
        `${t.name}: inputSchema is an object schema that compiles`,
        err || JSON.stringify(s));
      const req = (s && s.required) || [];
      ok(req.every((r) => s.properties && r in s.properties),
        `${t.name}: every required property is defined`, JSON.stringify(s));
      if (t.outputSchema) {
        let oc = true;
        try { ajv.compile(t.outputSchema); } catch (e) { oc = e.message; }
        ok(oc === true && t.outputSchema.type === 'object',
          `${t.name}: outputSchema compiles`, oc);
      }
    }

    await callOk(client, tools, 'loopsy_session_list', {});
    await callOk(client, tools, 'loopsy_execute',
      { command: 'echo hello-from-sdk' }, 'hello-from-sdk');
    await callOk(client, tools, 'loopsy_context_set',
      { key: 'sdk-key', value: 'sdk-value-42' });
    await callOk(client, tools, 'loopsy_context_get', { key: 'sdk-key' },
      'sdk-value-42');

    // The peer's own server, through a second SDK Client.
    await withTimeout(clientB.connect(new StdioClientTransport(
      serverFor(B))), 15000, 'connect to the peer');
    ok(true, 'a second SDK Client connects to the peer\'s server');

    await localTools(client);
    await peerTools(client, clientB);

    // Failures: a tool error is a result with isError, or (unknown tool)
    // a JSON-RPC error; never a hang or a dead server.
    try {
      const r = await client.callTool({ name: 'loopsy_no_such_tool',
        arguments: {} });
      ok(false, 'an unknown tool is an error',
        `resolved, not rejected: ${JSON.stringify(r)}`);
    } catch (e) {
      ok(e instanceof McpError && e.code === -32602 &&
        e.message.includes('loopsy_no_such_tool'),
      'an unknown tool is an error', e.stack);
    }
    try {
      const r = await client.callTool({ name: 'loopsy_context_get',
        arguments: {} });
      ok(r.isError === true && text(r).includes('"key"'),
        'missing arguments are an error', JSON.stringify(r));
    } catch (e) {
      ok(false, 'missing arguments are an error', e.stack);
    }
    await errors(client);
    await withTimeout(client.ping(), 10000, 'ping');
    ok(true, 'ping after the errors: the server is still there');
  } catch (e) {
    ok(false, 'the SDK Client session', e.stack);
  } finally {
    await client.close().catch(() => {});
    await clientB.close().catch(() => {});
  }
  console.log(JSON.stringify({ covered: { local: [...covered.local].sort(),
    peer: [...covered.peer].sort() } }));
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  ok(false, 'sdk-client.mjs', e.stack);
  process.exit(1);
});
