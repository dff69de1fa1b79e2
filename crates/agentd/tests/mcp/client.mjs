// An MCP client nobody here wrote (npm `@modelcontextprotocol/sdk`, the
// official TypeScript SDK) driving agentd's MCP server, for
// crates/agentd/tests/mcp.rs — the same interface as client.py:
//
//   node client.mjs stdio AGENTD_BIN [ARGS...]   # spawns `AGENTD_BIN ARGS... mcp`
//   node client.mjs http URL TOKEN
//
// Reads a JSON list of steps on stdin — {"call": TOOL, "args": {...}},
// {"read": URI} — and prints one JSON object: the server's name and
// instructions, its tools (name → input schema properties), its
// resources, and each step's outcome ({"is_error", "text"} or {"error"}).
// NODE_PATH must name the node_modules the SDK is installed in
// (scripts/install-node-clients.sh prints it).

import { createRequire } from 'node:module';
import { join } from 'node:path';

// ES modules ignore NODE_PATH: resolve the SDK's files from it by hand.
const modules = process.env.NODE_PATH;
const require = createRequire(join(modules, 'noop.js'));
const load = (p) => import(require.resolve(`@modelcontextprotocol/sdk/${p}`));
const { Client } = await load('client/index.js');
const { StdioClientTransport } = await load('client/stdio.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');

async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

async function drive(client, steps) {
  const out = {
    server: client.getServerVersion()?.name,
    instructions: client.getInstructions() ?? null,
  };
  const tools = await client.listTools();
  out.tools = Object.fromEntries(
    tools.tools.map((t) => [t.name, Object.keys(t.inputSchema?.properties ?? {}).sort()]),
  );
  const resources = await client.listResources();
  out.resources = resources.resources.map((r) => r.uri);
  out.results = [];
  for (const step of steps) {
    try {
      if (step.call) {
        const r = await client.callTool({ name: step.call, arguments: step.args ?? {} });
        const text = r.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
        out.results.push({ is_error: Boolean(r.isError), text });
      } else {
        const r = await client.readResource({ uri: step.read });
        out.results.push({ text: r.contents.map((c) => c.text ?? '').join('') });
      }
    } catch (e) {
      out.results.push({ error: `${e.name}: ${e.message}` });
    }
  }
  return out;
}

const [mode, ...rest] = process.argv.slice(2);
const steps = await readStdin();
const transport = mode === 'stdio'
  ? new StdioClientTransport({ command: rest[0], args: [...rest.slice(1), 'mcp'] })
  : new StreamableHTTPClientTransport(new URL(rest[0]), {
    requestInit: { headers: { Authorization: `Bearer ${rest[1]}` } },
  });
const client = new Client({ name: 'agentd-test', version: '1.0.0' });
await client.connect(transport);
const out = await drive(client, steps);
await client.close();
process.stdout.write(JSON.stringify(out) + '\n');
