"""extract_tree over worker processes gives what one process gives, constants from
neighbouring files included (crawler.extract.parallel)."""

from __future__ import annotations

from pathlib import Path

from crawler.extract import extract_tree, parallel

PAD = "// " + "x" * 100 + "\n"
TS_CONSTS = 'export const DESC_{i} = "Lists the widgets of shelf {i}";\n'
TS_SERVER = """import {{ McpServer }} from "@modelcontextprotocol/sdk/server/mcp.js";
import {{ DESC_{i} }} from "./consts";
const server = new McpServer({{ name: "s{i}", version: "1" }});
server.tool("list_widgets_{i}", DESC_{i}, {{}}, async () => ({{ content: [] }}));
"""
PY_CONSTS = 'DESCRIPTION = "Deletes gadget {i}"\n'
PY_SERVER = """from mcp.server.fastmcp import FastMCP
from .consts import DESCRIPTION

mcp = FastMCP("p{i}")


@mcp.tool(description=DESCRIPTION)
def delete_gadget_{i}(gadget_id: str) -> str:
    return gadget_id
"""
GO_CONSTS = 'package g{i}\n\nconst desc = "Creates gizmo {i}"\n'
GO_SERVER = """package g{i}

import "github.com/mark3labs/mcp-go/mcp"

func Tool() mcp.Tool {{
	return mcp.NewTool("create_gizmo_{i}", mcp.WithDescription(desc))
}}
"""


def make_tree(root: Path, n: int = 40) -> None:
    for i in range(n):
        files = {
            f"ts{i}/consts.ts": TS_CONSTS,
            f"ts{i}/server.ts": TS_SERVER + PAD * 40,
            f"py{i}/__init__.py": "",
            f"py{i}/consts.py": PY_CONSTS,
            f"py{i}/server.py": PY_SERVER + "# pad\n" * 400,
            f"go{i}/consts.go": GO_CONSTS,
            f"go{i}/tool.go": GO_SERVER + PAD * 40,
        }
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.format(i=i))


def test_parallel_extraction_matches_one_process(tmp_path: Path) -> None:
    make_tree(tmp_path)
    one = extract_tree(tmp_path, workers=1)
    assert one.bytes_scanned > parallel.PARALLEL_MIN_BYTES
    assert parallel.workers_for(one.files_scanned, one.bytes_scanned) == min(2, parallel.MAX_WORKERS)
    two = extract_tree(tmp_path, workers=2)
    assert two.to_dict() == one.to_dict()
    assert extract_tree(tmp_path).to_dict() == one.to_dict()  # the default picks workers by size
    tools = {t.name: t for t in two.tools}
    assert len(tools) == 120
    # Each description is a constant from the file beside the declaration.
    assert tools["list_widgets_7"].description == "Lists the widgets of shelf 7"
    assert tools["delete_gadget_39"].description == "Deletes gadget 39"
    assert tools["create_gizmo_0"].description == "Creates gizmo 0"


def test_runs_never_split_a_folder() -> None:
    files = [(Path(f"/r/{d}/{f}.go"), 100) for d in "abc" for f in range(5)]
    runs = parallel._runs(files, 8)
    assert [[p.parent.name for p in run] for run in runs] == [["a"] * 5, ["b"] * 5, ["c"] * 5]
