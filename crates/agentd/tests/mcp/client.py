"""An MCP client nobody here wrote (PyPI `mcp`, the official SDK) driving
agentd's MCP server, for crates/agentd/tests/mcp.rs.

    client.py stdio AGENTD_BIN [ARGS...]   # spawns `AGENTD_BIN ARGS... mcp`
    client.py http URL TOKEN

Reads a JSON list of steps on stdin — {"call": TOOL, "args": {...}},
{"read": URI} — and prints one JSON object: the server's name and
protocol version, its tools (name → input schema properties), its
resources, and each step's outcome ({"is_error", "text"} or {"error"}).
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def drive(session, steps):
    init = await session.initialize()
    out = {
        "server": init.server_info.name,
        "protocol": str(init.protocol_version),
        "instructions": init.instructions,
    }
    tools = await session.list_tools()
    out["tools"] = {
        t.name: sorted((t.input_schema or {}).get("properties", {}).keys()) for t in tools.tools
    }
    resources = await session.list_resources()
    out["resources"] = [str(r.uri) for r in resources.resources]
    results = []
    for step in steps:
        try:
            if "call" in step:
                r = await session.call_tool(step["call"], step.get("args", {}))
                text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                results.append({"is_error": bool(r.is_error), "text": text})
            else:
                r = await session.read_resource(step["read"])
                results.append({"text": "".join(getattr(c, "text", "") for c in r.contents)})
        except Exception as e:  # the test asserts on it
            results.append({"error": f"{type(e).__name__}: {e}"})
    out["results"] = results
    return out


async def main():
    mode = sys.argv[1]
    steps = json.load(sys.stdin)
    if mode == "stdio":
        params = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:] + ["mcp"])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                out = await drive(session, steps)
    else:
        url, token = sys.argv[2], sys.argv[3]
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with http:
            async with streamable_http_client(url, http_client=http) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    out = await drive(session, steps)
    print(json.dumps(out))


asyncio.run(main())
