"""Drives Pharos' MCP server (`/mcp`) with the official Python MCP SDK (PyPI `mcp`), for
`tests/mcp_sdk.rs`.

    client.py URL TOKEN SCENARIO [ERA]

TOKEN is sent as `Authorization: Bearer TOKEN` ("-" sends none). ERA picks how the client
connects: `legacy` (the `initialize` handshake, protocol 2025-11-25 and earlier) or `modern`
(`server/discover`, protocol 2026-07-28, no handshake). Prints one JSON document on stdout that
the Rust test asserts on; exits non-zero only when the script itself breaks.
"""

import asyncio
import json
import sys
from typing import Any

import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def result_json(result: types.CallToolResult) -> dict[str, Any]:
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    return {
        "isError": bool(result.is_error),
        "text": "\n".join(texts),
        "structured": result.structured_content,
    }


async def call(session: ClientSession, name: str, arguments: Any) -> dict[str, Any]:
    """One `tools/call`; a protocol error (JSON-RPC) is reported, not raised."""
    try:
        if isinstance(arguments, dict) or arguments is None:
            return result_json(await session.call_tool(name, arguments))
        # The SDK's types only allow an object; build the request unvalidated so the server
        # sees exactly what a broken client would send.
        params = types.CallToolRequestParams.model_construct(name=name, arguments=arguments)
        request = types.CallToolRequest.model_construct(method="tools/call", params=params)
        return result_json(await session.send_request(request, types.CallToolResult))
    except MCPError as error:
        return {"protocolError": {"code": error.error.code, "message": error.error.message}}


async def connect(session: ClientSession, era: str) -> dict[str, Any]:
    if era == "legacy":
        result = await session.initialize()
        return {
            "protocolVersion": result.protocol_version,
            "serverName": result.server_info.name,
            "serverVersion": result.server_info.version,
            "tools": result.capabilities.tools is not None,
            "instructions": result.instructions,
        }
    result = await session.discover()
    info = session.server_info
    return {
        "protocolVersion": session.protocol_version,
        "supportedVersions": list(result.supported_versions),
        "serverName": info.name if info else None,
        "serverVersion": info.version if info else None,
        "tools": result.capabilities.tools is not None,
    }


async def handshake(session: ClientSession, era: str) -> dict[str, Any]:
    return await connect(session, era)


async def tools(session: ClientSession, era: str) -> dict[str, Any]:
    await connect(session, era)
    listed = await session.list_tools()
    return {
        "tools": [
            {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
            for t in listed.tools
        ]
    }


async def admin_calls(session: ClientSession, era: str) -> dict[str, Any]:
    await connect(session, era)
    return {
        "good": await call(session, "query_metrics", {"query": "gpu_util", "start": "-10m", "step": "1m"}),
        "instant": await call(session, "query_metrics", {"query": "sum(gpu_util)"}),
        "missing_query": await call(session, "query_metrics", {}),
        "unknown_field": await call(session, "query_metrics", {"query": "up", "namespace": "team-a"}),
        "not_an_object": await call(session, "query_metrics", ["gpu_util"]),
        "unknown_tool": await call(session, "drop_database", {}),
        "no_arguments": await call(session, "list_clusters", None),
    }


async def member_calls(session: ClientSession, era: str) -> dict[str, Any]:
    await connect(session, era)
    team_b = 'gpu_util{namespace="team-b"}'
    return {
        "no_project": await call(session, "query_metrics", {"query": team_b}),
        "team_a": await call(session, "query_metrics", {"query": team_b, "project": "team-a"}),
        "other_project": await call(session, "query_metrics", {"query": team_b, "project": "team-b"}),
    }


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


SCENARIOS = {
    "handshake": handshake,
    "tools": tools,
    "admin_calls": admin_calls,
    "member_calls": member_calls,
}


async def main() -> None:
    url, token, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    era = sys.argv[4] if len(sys.argv) > 4 else "legacy"
    headers = {} if token == "-" else {"Authorization": f"Bearer {token}"}
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async with httpx2.AsyncClient(
        headers=headers, timeout=httpx2.Timeout(30.0), event_hooks={"response": [record]}
    ) as http:
        try:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    output = await SCENARIOS[scenario](session, era)
        except Exception as error:  # the SDK's refusal, reported for the test to check
            output = {"failed": "; ".join(f"{type(e).__name__}: {e}" for e in leaves(error))}
    # The HTTP statuses seen (the SDK turns a refusal into a JSON-RPC error without its status).
    output["httpStatuses"] = statuses
    print(json.dumps(output))


if __name__ == "__main__":
    asyncio.run(main())
