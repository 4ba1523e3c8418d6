// regress/mcp/sdk-client.mjs: drive "loopsy mcp" with the official MCP
// TypeScript SDK as the client.  Usage: node sdk-client.mjs LOOPSY SOCKET
// Prints one JSON object a line, {"ok":bool,"name":...,"diag":...}, which
// regress/test-mcp-sdk.py turns into TAP.  The environment is passed to the
// server explicitly: StdioClientTransport would otherwise pass only HOME,
// PATH and a few more (DEPS.md section 8).
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CallToolResultSchema, InitializeResultSchema, ListToolsResultSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [loopsy, socket] = process.argv.slice(2);
const server = { command: loopsy, args: ['-S', socket, 'mcp'],
  env: { ...process.env }, stderr: 'inherit' };
const VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

// ajv 8 (with JSON Schema 2020-12) comes with the SDK.
const sdkRequire = createRequire(new URL(
  './node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url));
const Ajv2020 = sdkRequire('ajv/dist/2020').default;

let failed = 0;
function ok(cond, name, diag) {
  if (!cond) failed++;
  console.log(JSON.stringify({ ok: !!cond, name,
    diag: diag === undefined ? undefined : String(diag) }));
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
  try {
    await withTimeout(client.connect(transport), 15000, 'connect');
    ok(true, 'the SDK Client connects (initialize, initialized)');
    const v = client.getServerVersion();
    ok(v && v.name, 'serverInfo has a name', JSON.stringify(v));
    const { tools } = await withTimeout(client.listTools(), 15000, 'list');
    ok(tools.length > 0, `tools/list: ${tools.length} tools`);

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

    // Failures: a tool error is a result with isError, or (unknown tool)
    // a JSON-RPC error; never a hang or a dead server.
    try {
      const r = await client.callTool({ name: 'loopsy_no_such_tool',
        arguments: {} });
      ok(r.isError === true, 'an unknown tool is an error', JSON.stringify(r));
    } catch (e) {
      ok(/-32602|-32601|unknown|not found/i.test(e.message),
        'an unknown tool is an error', e.message);
    }
    try {
      const r = await client.callTool({ name: 'loopsy_context_get',
        arguments: {} });
      ok(r.isError === true, 'missing arguments are an error',
        JSON.stringify(r));
    } catch (e) {
      ok(/-32602|invalid|required/i.test(e.message),
        'missing arguments are an error', e.message);
    }
    await withTimeout(client.ping(), 10000, 'ping');
    ok(true, 'ping after the errors: the server is still there');
  } catch (e) {
    ok(false, 'the SDK Client session', e.stack);
  } finally {
    await client.close().catch(() => {});
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  ok(false, 'sdk-client.mjs', e.stack);
  process.exit(1);
});
