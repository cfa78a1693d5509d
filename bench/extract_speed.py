"""Speed of the static extractor: MB of source per second and a 500-file repository.

Usage:
    python bench/extract_speed.py [FOLDER ...] [--runs 5]

Always measures a generated 500-file repository (Python, TypeScript and Go files that all
declare tools, so every file is parsed: the worst case for the text pre-filter). Each FOLDER
(e.g. corpus checkouts from bench/extract_eval.py) is measured as well. Figures are medians.
Goals (issue 5): >= 2 MB of source per second; a 500-file repository in <= 2 s.
Trees above crawler.extract.parallel's threshold are parsed by 2 worker processes (the
pool starts on first use, inside the first run); `--workers 1` measures one process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from crawler.extract import extract_tree

PY = '''from mcp.server.fastmcp import FastMCP
from pydantic import Field

mcp = FastMCP("gen")
DESCRIPTION_{i} = "Reads the thing number {i}. " + "It never writes."


@mcp.tool(description=DESCRIPTION_{i})
def read_thing_{i}(thing_id: str = Field(..., description="Which thing"), limit: int = 10) -> str:
    return helper(thing_id, limit)


@mcp.tool()
def delete_thing_{i}(thing_id: str, force: bool = False) -> str:
    """Deletes the thing {i}.

    Cannot be undone.
    """
    return thing_id


def helper(a: str, b: int) -> str:
    values = [x * 2 for x in range(b)]
    return a + str(sum(values))
'''
TS = """import {{ McpServer }} from "@modelcontextprotocol/sdk/server/mcp.js";
import {{ z }} from "zod";

const server = new McpServer({{ name: "gen", version: "1.0.0" }});
const PREFIX = "item";

server.registerTool(
  `${{PREFIX}}_list_{i}`,
  {{
    title: "List items {i}",
    description: "Lists items. " + "Supports paging.",
    inputSchema: {{ page: z.number().int().optional().describe("Page"), q: z.string().describe("Query") }},
    annotations: {{ readOnlyHint: true }},
  }},
  async ({{ page, q }}) => {{
    const rows = await fetch(`https://example.com/items?page=${{page}}&q=${{q}}`);
    return {{ content: [{{ type: "text", text: JSON.stringify(await rows.json()) }}] }};
  }},
);

export function unrelated_{i}(a: number, b: number): number {{
  let total = 0;
  for (let k = 0; k < a; k++) {{ total += k * b; }}
  return total;
}}
"""
GO = """package gen

import "github.com/mark3labs/mcp-go/mcp"

const desc{i} = "Creates a record " + "in the store"

func CreateRecord{i}() mcp.Tool {{
	return mcp.NewTool("create_record_{i}",
		mcp.WithDescription(desc{i}),
		mcp.WithString("name", mcp.Required(), mcp.Description("Record name")),
		mcp.WithDestructiveHintAnnotation(false),
	)
}}

func helper{i}(a, b int) int {{
	total := 0
	for k := 0; k < a; k++ {{
		total += k * b
	}}
	return total
}}
"""


# Ordinary code around the declarations, so files have a typical size (~3 KB) and shape.
PY_BODY = """

class Store{i}:
    \"\"\"An in-memory store, as servers keep next to their tools.\"\"\"

    def __init__(self, items: dict[str, int] | None = None) -> None:
        self.items = dict(items or {{}})

    def get(self, key: str, default: int = 0) -> int:
        return self.items.get(key, default)

    def put(self, key: str, value: int) -> None:
        if value < 0:
            raise ValueError(f"negative value for {{key}}: {{value}}")
        self.items[key] = value

    def top(self, n: int = 5) -> list[tuple[str, int]]:
        return sorted(self.items.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
"""
TS_BODY = """
interface Row{i} {{ id: string; name: string; tags: string[]; created: Date }}

export class Cache{i} {{
  private rows = new Map<string, Row{i}>();
  get(id: string): Row{i} | undefined {{ return this.rows.get(id); }}
  put(row: Row{i}): void {{
    if (!row.id) throw new Error(`row without id: ${{JSON.stringify(row)}}`);
    this.rows.set(row.id, {{ ...row, tags: [...row.tags].sort() }});
  }}
  byTag(tag: string): Row{i}[] {{
    const hits = [...this.rows.values()].filter((r) => r.tags.includes(tag));
    return hits.sort((a, b) => a.name.localeCompare(b.name));
  }}
}}
"""
GO_BODY = """
type Store{i} struct {{
	items map[string]int
}}

func (s *Store{i}) Get(key string) (int, bool) {{
	v, ok := s.items[key]
	return v, ok
}}

func (s *Store{i}) Put(key string, value int) error {{
	if value < 0 {{
		return fmt.Errorf("negative value for %s: %d", key, value)
	}}
	s.items[key] = value
	return nil
}}
"""


def make_repo(root: Path, files: int = 500) -> int:
    size = 0
    for i in range(files):
        kind = i % 3
        sub = root / f"pkg{i // 50}"
        sub.mkdir(parents=True, exist_ok=True)
        text = (PY + PY_BODY * 3, TS + TS_BODY * 3, GO + GO_BODY * 3)[kind].format(i=i)
        path = sub / f"mod{i}.{('py', 'ts', 'go')[kind]}"
        if kind == 2:  # one Go package per file, so package constants stay per file
            path = sub / f"go{i}" / f"mod{i}.go"
            path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        size += len(text.encode())
    return size


def measure(folder: Path, runs: int, workers: int | None = None) -> tuple[float, int, int, int]:
    times = []
    res = None
    for _ in range(runs):
        t0 = time.perf_counter()
        res = extract_tree(folder, workers=workers)
        times.append(time.perf_counter() - t0)
    assert res is not None
    return statistics.median(times), res.files_scanned, res.bytes_scanned, len(res.tools)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes per tree (default: extract_tree's choice by tree size; 1: one process)",
    )
    args = ap.parse_args(argv)
    print(f"{'tree':45} {'files':>6} {'MB':>7} {'tools':>6} {'median s':>9} {'MB/s':>7}")
    with tempfile.TemporaryDirectory(prefix="mcpcat-speed-") as tmp:
        make_repo(Path(tmp))
        rows = [("generated 500-file repo (all parsed)", Path(tmp))]
        rows += [(str(f), f) for f in args.folders]
        for label, folder in rows:
            secs, files, size, tools = measure(folder, args.runs, args.workers)
            rate = size / 1e6 / secs
            print(f"{label[-45:]:45} {files:>6} {size / 1e6:>7.2f} {tools:>6} {secs:>9.3f} {rate:>7.2f}")
            if label.startswith("generated"):
                print(
                    f"  500 files <= 2 s: {'met' if secs <= 2.0 else 'NOT met'}; "
                    f">= 2 MB/s with every file parsed: {'met' if rate >= 2.0 else 'NOT met'}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
