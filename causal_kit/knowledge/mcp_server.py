"""The assistant tools as a Model Context Protocol server (``causal-kit serve-mcp``), on the official ``mcp`` SDK.

:func:`build_server` wraps a :class:`~causal_kit.knowledge.tools.Toolbox` in an MCP ``Server``:
``tools/list`` returns each tool with its input and output JSON Schemas, and ``tools/call`` runs
:meth:`Toolbox.call`, so an error (a malformed call, a refused source, a limit) comes back as a
tool result with ``isError`` set and the schema problems in its structured content, never as a
crashed server. :func:`serve` runs it over stdio.
"""

from __future__ import annotations

import json
from typing import Any

from .tools import TOOLS, Toolbox

__all__ = ["build_server", "serve"]


def build_server(toolbox: Toolbox, name: str = "causal-kit") -> Any:
    """An MCP server (``mcp.server.lowlevel.Server``) exposing ``toolbox``'s six tools.

    Examples
    --------
    >>> import tempfile
    >>> server = build_server(Toolbox(registry=tempfile.mkdtemp() + "/r.duckdb", sources={}))
    >>> server.name
    'causal-kit'
    """
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    tools = [types.Tool(name=n, description=desc, input_schema=args.model_json_schema(),
                        output_schema=_envelope_schema(out.model_json_schema()))
             for n, (args, out, desc) in TOOLS.items()]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> Any:
        # the toolbox is synchronous (numpy, DuckDB): run it off the event loop
        response = await anyio.to_thread.run_sync(toolbox.call, params.name, params.arguments)
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(response))],
                                    structured_content=response, is_error=not response["ok"])

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


def _envelope_schema(result_schema: dict[str, Any]) -> dict[str, Any]:
    """The ``ToolResponse`` envelope schema with ``result`` typed as the tool's own result."""
    from .tool_models import ToolResponse

    schema = ToolResponse.model_json_schema()
    defs = {**schema.pop("$defs", {}), **result_schema.pop("$defs", {})}
    schema["properties"]["result"] = {"anyOf": [result_schema, {"type": "null"}]}
    if defs:
        schema["$defs"] = defs
    return schema


def serve(toolbox: Toolbox) -> None:  # pragma: no cover - exercised through the CLI in a subprocess
    """Serve ``toolbox`` over stdio until the client disconnects."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server(toolbox)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
