"""One nightly at a time, on both backends: the lock refuses a second holder and frees on exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.nightly import NightlyBusy, nightly_lock
from catalog.store import Catalog


def test_a_second_nightly_is_refused_until_the_first_lets_go(db_url: str, tmp_path: Path) -> None:
    first, second = Catalog(db_url), Catalog(db_url)  # two processes' worth of engines
    try:
        with (
            nightly_lock(first.engine, tmp_path / "export"),
            pytest.raises(NightlyBusy, match="another mcpcat nightly is running"),
            nightly_lock(second.engine, tmp_path / "export"),
        ):
            pass
        with nightly_lock(second.engine, tmp_path / "export") as where:
            assert where
    finally:
        first.close()
        second.close()
