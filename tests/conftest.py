"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DATA


@pytest.fixture
def key(monkeypatch):
    """A fixed pseudonymisation key for the test."""
    monkeypatch.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    return b"test-key-not-secret"


@pytest.fixture
def store(tmp_path, key):
    """An empty store in a temporary directory."""
    from telephony.store import Store

    return Store(tmp_path / "store", create=True)


@pytest.fixture
def data_dir() -> Path:
    return DATA



@pytest.fixture(scope="session")
def demo12(tmp_path_factory) -> Path:
    """A 12-week demo (three practices from Monday 6 January 2025, seed 11) built once per
    session through the normal ingest path: the folder holding ``exports/`` and ``store/``.

    Its key is ``test-key-not-secret``: tests that ingest into it ask for the ``key`` fixture.
    """
    import datetime as dt

    from demand.simulation.demo import run_demo

    out = tmp_path_factory.mktemp("demo12") / "frontdoor-demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
        run_demo(out, weeks=12, seed=11, start_date=dt.date(2025, 1, 6))
    return out
