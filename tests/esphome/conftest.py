"""One `esphome config` run per node file and package choice, shared by the ESPHome tests."""

from __future__ import annotations

import pytest

from .nodes import Result, Variant, run_all, variants


@pytest.fixture(scope="session")
def esphome_results(tmp_path_factory: pytest.TempPathFactory) -> dict[Variant, Result]:
    """The resolved configuration of every variant, validated once per test session."""
    try:
        return run_all(tmp_path_factory.mktemp("esphome"), variants())
    except FileNotFoundError as err:
        pytest.fail(str(err))
