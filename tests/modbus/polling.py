"""What the poller tests share: a clock moved by hand, a poll's values by name, Kall's DSE."""

from __future__ import annotations

from custom_components.sot.modbus.poller import DeviceSettings, PollResult
from custom_components.sot.modbus.profile import load_builtin
from custom_components.sot.site.vocabulary import Value


class Clock:
    """Monotonic time the test moves by hand, so scan intervals need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def values_of(result: PollResult) -> dict[str, Value]:
    """A poll's readings as `kind/component/quantity` to value."""
    return {f"{r.kind}/{r.id}/{r.quantity}": r.value for r in result.readings}


def dse_settings(**settings: object) -> DeviceSettings:
    """The poller's settings of Kall's Deep Sea controller, `genset`; `settings` add to them."""
    return DeviceSettings(id="genset", profile=load_builtin("deep_sea_gencomm"), **settings)  # type: ignore[arg-type]
