"""A local HTTP mirror of the MCP sources' APIs for spider tests and benchmarks (see server.py)."""

from tests.mirror.server import DEFAULT_KEYS, Fault, Mirror

__all__ = ["DEFAULT_KEYS", "FIXTURES", "Fault", "Mirror"]

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
