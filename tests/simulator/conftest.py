"""A broker of the simulator tests' own: whole simulated sites publish retained meta and node
statuses for kall, valsjobyn and hallen, which must not leak into other tests' topic trees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..mosquitto import mosquitto


@pytest.fixture
def sim_broker(socket_enabled: None) -> Iterator[int]:
    """A fresh Mosquitto on a free loopback port for one test; yields its port."""
    with mosquitto() as port:
        yield port
