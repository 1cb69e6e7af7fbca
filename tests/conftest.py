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

