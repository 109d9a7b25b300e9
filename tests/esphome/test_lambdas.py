"""The C++ the node files run on their values, compiled with the host's g++ and run.

`esphome config` does not compile lambdas and the ESP32 toolchain is not available offline, so
the lambdas that decide what a node publishes (sentinel and no-reading filters, register
scaling, tank geometry, 4–20 mA conversion, generator enums) are taken from the resolved
configuration, compiled against a few stand-ins for ESPHome's types, and run on real inputs.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sot.mqtt import topics
from custom_components.sot.site.readings import Command

from ..helpers import site_entry, start_site, wait_for, wait_for_state
from .nodes import Lambda, Result, Variant, valid_config

PRELUDE = r"""
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <ctime>

template <typename T> using optional = std::optional<T>;

// Stand-ins for the ESPHome entities a lambda reads or writes through id(...).
struct Sensor {
  float state = NAN;
  bool has_state() const { return !std::isnan(state); }
};
struct TextSensor {
  std::string state;
  void publish_state(const char *value) { state = value; }
};
#define id(name) (name)
"""


@dataclass(frozen=True)
class Snippet:
    """One lambda, wrapped as a function of the float `x` it receives."""

    name: str
    code: str
    kind: str  # "filter": returns optional<float>; "level": reads tank_fill_height = x;
    # "text": publishes to a text sensor


def _function(index: int, snippet: Snippet) -> str:
    if snippet.kind == "filter":
        return f"static optional<float> f{index}(float x) {{\n{snippet.code}\n}}\n"
    if snippet.kind == "level":
        return (
            f"static optional<float> f{index}(float x) {{\n"
            "  Sensor tank_fill_height;\n  tank_fill_height.state = x;\n"
            f"{snippet.code}\n}}\n"
        )
    return (
        f"static std::string f{index}(float x) {{\n"
        "  TextSensor generator_state, generator_mode, generator_alarm;\n"
        f"{snippet.code}\n"
        "  return generator_state.state + generator_mode.state + generator_alarm.state;\n}\n"
    )


def _program(snippets: list[Snippet]) -> str:
    functions = "".join(_function(index, snippet) for index, snippet in enumerate(snippets))
    cases = []
    for index, snippet in enumerate(snippets):
        if snippet.kind == "text":
            cases.append(
                f"    case {index}: {{ auto out = f{index}(x); "
                'std::printf("%s\\n", out.empty() ? "<none>" : out.c_str()); break; }'
            )
        else:
            cases.append(
                f"    case {index}: {{ auto out = f{index}(x); "
                'if (out) std::printf("%.6f\\n", *out); else std::printf("<none>\\n"); break; }'
            )
    return (
        PRELUDE + functions + "int main(int argc, char **argv) {\n"
        "  for (int i = 1; i + 1 < argc; i += 2) {\n"
        "    const int which = std::atoi(argv[i]);\n"
        "    const float x = std::strtof(argv[i + 1], nullptr);\n"
        "    switch (which) {\n" + "\n".join(cases) + "\n"
        "    default: return 2;\n    }\n  }\n  return 0;\n}\n"
    )


class Harness:
    """The compiled lambdas, called by name."""

    def __init__(self, binary: Path, names: list[str]) -> None:
        self.binary = binary
        self.index = {name: position for position, name in enumerate(names)}

    def run(self, name: str, *inputs: float) -> list[str]:
        arguments = []
        for value in inputs:
            arguments += [str(self.index[name]), repr(value)]
        completed = subprocess.run(
            [str(self.binary), *arguments], capture_output=True, text=True, check=True, timeout=30
        )
        return completed.stdout.split("\n")[:-1]

    def numbers(self, name: str, *inputs: float) -> list[float | None]:
        return [None if out == "<none>" else float(out) for out in self.run(name, *inputs)]


def _sensor(config: dict[str, Any], sensor_id: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        sensor for sensor in config["sensor"] if sensor.get("id") == sensor_id
    ]
    assert matches, f"no sensor {sensor_id!r}"
    return matches[0]


def _filter_lambdas(sensor: dict[str, Any]) -> list[Lambda]:
    return [item["lambda"] for item in sensor.get("filters", []) if "lambda" in item]


def _snippets(results: dict[Variant, Result]) -> list[Snippet]:
    snippets: list[Snippet] = []
    freezers = valid_config(results, Variant("freezers.yaml"))
    snippets.append(
        Snippet("freezer", _filter_lambdas(_sensor(freezers, "freezer1_temperature"))[0], "filter")
    )

    gateway = valid_config(results, Variant("generator-gateway.yaml"))
    for sensor in gateway["sensor"]:
        if sensor["platform"] != "modbus_controller":
            continue
        snippets.append(Snippet(f"dse{sensor['address']}", _filter_lambdas(sensor)[0], "filter"))
        for trigger in sensor.get("on_value", []):
            for action in trigger["then"]:
                snippets.append(Snippet(f"dse{sensor['address']}_word", action["lambda"], "text"))
        # What a register says before its filter: the words a "not available" code publishes.
        for trigger in sensor.get("on_raw_value", []):
            for action in trigger["then"]:
                if "lambda" in action:
                    snippets.append(
                        Snippet(f"dse{sensor['address']}_raw", action["lambda"], "text")
                    )

    for shape in ("horizontal-cylinder", "vertical-cylinder", "rectangular"):
        variant = (
            Variant("fuel-tank.yaml")
            if shape == "horizontal-cylinder"
            else Variant("fuel-tank.yaml", (("tank_shape", shape),))
        )
        tank = valid_config(results, variant)
        snippets.append(Snippet(shape, _sensor(tank, "tank_level")["lambda"], "level"))

    tank_sensors = {
        "a02yyuw": Variant("fuel-tank.yaml"),
        "jsn-sr04t": Variant("fuel-tank.yaml", (("tank_sensor", "jsn-sr04t"),)),
        "ads1115": Variant("fuel-tank.yaml", (("tank_sensor", "ads1115"),)),
    }
    for name, variant in tank_sensors.items():
        fill_height = _sensor(valid_config(results, variant), "tank_fill_height")
        for position, code in enumerate(_filter_lambdas(fill_height)):
            snippets.append(Snippet(f"{name}_{position}", code, "filter"))
    return snippets


def _gxx() -> str:
    """The C++ compiler the lambdas are compiled with; the test fails without one."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.fail("g++ is missing: install it (apt-get install g++) to test the nodes' lambdas")
    return compiler


@pytest.fixture(scope="module")
def harness(
    esphome_results: dict[Variant, Result], tmp_path_factory: pytest.TempPathFactory
) -> Harness:
    compiler = _gxx()
    snippets = _snippets(esphome_results)
    workdir = tmp_path_factory.mktemp("lambdas")
    source = workdir / "lambdas.cpp"
    source.write_text(_program(snippets), encoding="utf-8")
    binary = workdir / "lambdas"
    compiled = subprocess.run(
        [compiler, "-std=gnu++20", "-Wall", "-Werror", "-O1", "-o", str(binary), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert compiled.returncode == 0, f"the nodes' lambdas do not compile:\n{compiled.stderr}"
    return Harness(binary, [snippet.name for snippet in snippets])


def test_freezer_probe_drops_no_reading_values(harness: Harness) -> None:
    assert harness.numbers("freezer", math.nan, 85.0, -18.4, -127.0, 4.0) == pytest.approx(
        [None, None, -18.4, None, 4.0]
    )


def test_a_dead_freezer_probe_is_said_once_not_its_last_temperature(harness: Harness) -> None:
    """Three failed reads in a row: NaN once, so the state ESPHome sends again on every
    reconnect is `nan` (refused), not the last good temperature as if it were new."""
    shown = harness.numbers("freezer", -18.4, math.nan, math.nan, -127.0, math.nan, 85.0, -18.2)
    assert shown[0] == pytest.approx(-18.4)
    assert shown[1:3] == [None, None]
    assert shown[3] is not None
    assert math.isnan(shown[3])
    assert shown[4:6] == [None, None]
    assert shown[6] == pytest.approx(-18.2)
    parsed = topics.parse_message(
        "sot/kall", "sot/kall/freezer/f1/temperature", f"{shown[3]}", datetime.now(UTC)
    )
    assert not parsed.readings
    assert [r.reason.value for r in parsed.rejections] == ["not_finite"]


# (register, a raw value as the controller sends it, the value the node publishes)
DSE_VALUES = [
    (772, 3, 3.0),
    (774, 1 << 13, 8192.0),
    (1024, 380, 380.0),
    (1025, -5, -5.0),
    (1027, 64, 64.0),
    (1029, 136, 13.6),
    (1030, 1500, 1500.0),
    (1031, 500, 50.0),
    (1032, 2306, 230.6),
    (1044, 341, 34.1),
    (1059, 500, 50.0),
    (1060, 2314, 231.4),
    (1290, 790, 7.9),
    (1408, 3, 3.0),
    (1536, 23500, 23.5),
    (1558, 420, 42.0),
    (1798, 4_444_200, 1234.5),
    (1800, 456_789, 45678.9),
    (1808, 312, 312.0),
]
# The lowest and highest "not available / sensor fault" code of each register type.
SENTINELS = {
    "U_WORD": (0xFFF8, 0xFFFF),
    "S_WORD": (0x7FF8, 0x7FFF),
    "U_DWORD": (0xFFFFFFF8, 0xFFFFFFFF),
    "S_DWORD": (0x7FFFFFF8, 0x7FFFFFFF),
}


def test_generator_registers_are_scaled_to_the_contracts_units(
    harness: Harness, esphome_results: dict[Variant, Result]
) -> None:
    read = {
        sensor["address"]
        for sensor in valid_config(esphome_results, Variant("generator-gateway.yaml"))["sensor"]
        if sensor["platform"] == "modbus_controller"
    }
    assert read == {register for register, _, _ in DSE_VALUES}
    for register, raw, published in DSE_VALUES:
        assert harness.numbers(f"dse{register}", raw) == pytest.approx([published]), register


def test_generator_sentinels_are_never_published(
    harness: Harness, esphome_results: dict[Variant, Result]
) -> None:
    for sensor in valid_config(esphome_results, Variant("generator-gateway.yaml"))["sensor"]:
        if sensor["platform"] != "modbus_controller":
            continue
        codes = SENTINELS[sensor["value_type"]]
        assert harness.numbers(f"dse{sensor['address']}", *codes) == [None, None], sensor["id"]


def test_generator_words_follow_gencomm(harness: Harness) -> None:
    states = harness.run("dse1408_word", 0, 1, 2, 3, 4, 5, 6, 7)
    assert states == [
        "stopped",
        "starting",
        "warming_up",
        "running",
        "cooling_down",
        "stopped",
        "stopping",
        "nan",
    ]
    # 772: every value Victron's DSE driver maps (0-7); 5, user configuration, has no word:
    # `nan`, which SOT Monitor takes as the controller's "no reading".
    modes = harness.run("dse772_word", 0, 1, 2, 3, 4, 5, 6, 7, 9)
    assert modes == ["off", "auto", "manual", "test", "auto", "nan", "test", "off", "nan"]
    # "Not available" before the filter drops it: `nan` for each word, nothing for a reading.
    for register in (772, 774, 1408):
        assert harness.run(f"dse{register}_raw", 0xFFFF, 3) == ["nan", "<none>"], register
    flags = [0, 1 << 11, 1 << 12, 1 << 13, (1 << 11) | (1 << 13), (1 << 11) | (1 << 12)]
    assert harness.run("dse774_word", *flags) == [
        "ok",
        "warning",
        "trip",
        "shutdown",
        "shutdown",
        "trip",
    ]


def _gateway_sends(harness: Harness, register: int, raw: int) -> list[str]:
    """The words the gateway publishes for one poll that reads `raw` from `register`."""
    sent = []
    if f"dse{register}_raw" in harness.index:
        sent += [word for word in harness.run(f"dse{register}_raw", raw) if word != "<none>"]
    [filtered] = harness.numbers(f"dse{register}", raw)
    if filtered is not None:
        words = harness.run(f"dse{register}_word", filtered)
        sent += [word for word in words if word != "<none>"]
    return sent


async def test_a_controller_without_a_word_does_not_leave_the_last_one_shown(
    harness: Harness,
    esphome_results: dict[Variant, Result],
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The controller answers, but its engine state is "not available" (0xFFFF) and its
    control mode is 5 (user configuration, no word): what the gateway then publishes must
    take `running` and `auto` off the dashboard one staleness timeout later, as the same
    controller read over Modbus does (docs/integration.md#availability), not leave them live
    for as long as the gateway is online."""
    config = valid_config(esphome_results, Variant("generator-gateway.yaml"))
    base, node = "sot/kall", config["esphome"]["name"]
    topic_of = {item["id"]: item["state_topic"] for item in config["text_sensor"]}
    [meta] = [
        action["mqtt.publish"]
        for trigger in config["mqtt"]["on_connect"]
        for action in trigger["then"]
        if "mqtt.publish" in action
        and action["mqtt.publish"]["topic"] == f"{base}/generator/main/meta"
    ]
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    await field.publish(meta["topic"], meta["payload"], retain=True)
    await field.publish(f"{base}/node/{node}/status", "online", retain=True)

    async def poll(state: int, mode: int) -> None:
        before, sent = coordinator.messages, 0
        for register, raw, sensor in (
            (1408, state, "generator_state"),
            (772, mode, "generator_mode"),
        ):
            for word in _gateway_sends(harness, register, raw):
                await field.publish(topic_of[sensor], word)
                sent += 1
        await wait_for(mqtt_hass, lambda: coordinator.messages >= before + sent, "the poll")
        # A second later: what is worked out at most once a second follows the whole poll
        # (under a frozen clock it would wait for the next tick, late on a busy host).
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(mqtt_hass)
        await mqtt_hass.async_block_till_done()

    try:
        await wait_for(mqtt_hass, lambda: coordinator.site.nodes.get(node) is True, "online")
        await poll(3, 1)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
        await wait_for_state(mqtt_hass, "sensor.kall_generator_mode", "auto")
        await poll(0xFFFF, 5)
        for _ in range(5):  # 75 s of polls that read "not available" and mode 5
            freezer.tick(timedelta(seconds=15))
            async_fire_time_changed(mqtt_hass)
            await poll(0xFFFF, 5)
            await mqtt_hass.async_block_till_done()
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", STATE_UNAVAILABLE)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_mode", STATE_UNAVAILABLE)
        # The controller gives its words again: shown at once.
        await poll(3, 1)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
        await wait_for_state(mqtt_hass, "sensor.kall_generator_mode", "auto")
    finally:
        await field.publish(meta["topic"], b"", retain=True)
        await field.publish(f"{base}/node/{node}/status", b"", retain=True)


async def test_the_gateway_s_fuel_rate_is_what_the_fuel_hours_count_on(
    harness: Harness,
    esphome_results: dict[Variant, Result],
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A Deep Sea controller of an ECU engine reports its fuel rate (register 1290, 790 =
    7.90 L/h): the generator's fuel rate shows what the gateway publishes of it, and the fuel
    hours count on it (`rate_source: controller`), as for the same controller read over
    Modbus TCP. "Not available" (an engine without an ECU, or the ECU off) is never published:
    the rate shown goes unavailable one staleness timeout later and the hours go back to the
    fuel curve at the set's load, instead of the last rate staying live."""
    config = valid_config(esphome_results, Variant("generator-gateway.yaml"))
    base, node = "sot/kall", config["esphome"]["name"]
    sensors = {
        sensor["address"]: sensor
        for sensor in config["sensor"]
        if sensor["platform"] == "modbus_controller" and "state_topic" in sensor
    }
    state_topic = next(
        t["state_topic"] for t in config["text_sensor"] if t["id"] == "generator_state"
    )
    metas = [
        action["mqtt.publish"]
        for trigger in config["mqtt"]["on_connect"]
        for action in trigger["then"]
        if "mqtt.publish" in action and action["mqtt.publish"]["topic"].endswith("/meta")
    ]
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    for meta in metas:
        await field.publish(meta["topic"], meta["payload"], retain=True)
    await field.publish(f"{base}/node/{node}/status", "online", retain=True)

    async def poll(fuel_rate: int) -> None:
        """One poll of a running set on load through an outage, as the gateway publishes it:
        mains 0 V, 23.5 kW (42 %), the tank at 64 %, and the fuel rate register's raw value."""
        before, sent = coordinator.messages, 0
        for register, raw in ((1060, 0), (1536, 23500), (1558, 420), (1027, 64), (1290, fuel_rate)):
            [value] = harness.numbers(f"dse{register}", raw)
            if value is not None:
                sensor = sensors[register]
                await field.publish(
                    sensor["state_topic"], f"{value:.{sensor['accuracy_decimals']}f}"
                )
                sent += 1
        for word in _gateway_sends(harness, 1408, 3):
            await field.publish(state_topic, word)
            sent += 1
        await wait_for(mqtt_hass, lambda: coordinator.messages >= before + sent, "the poll")
        # A second later: the site's figures, worked out at most once a second, follow the
        # whole poll.
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(mqtt_hass)
        await mqtt_hass.async_block_till_done()

    async def next_poll(fuel_rate: int) -> None:
        """The gateway's next poll, 5 s after the last one (`poll_interval`)."""
        freezer.tick(timedelta(seconds=4))
        async_fire_time_changed(mqtt_hass)
        await poll(fuel_rate)

    async def hours_from(source: str) -> None:
        def check() -> bool:
            state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
            return state is not None and state.attributes.get("rate_source") == source

        await wait_for(mqtt_hass, check, f"the fuel hours from the {source}")

    try:
        await wait_for(mqtt_hass, lambda: coordinator.site.nodes.get(node) is True, "online")
        await poll(790)
        await next_poll(790)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_fuel_rate", "7.9")
        await hours_from("controller")
        runtime = mqtt_hass.states.get("sensor.kall_fuel_runtime")
        assert runtime is not None
        assert runtime.attributes["fuel_rate"] == pytest.approx(7.9)
        for _ in range(16):  # 80 s of polls that read "not available"
            await next_poll(0xFFFFFFFF)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_fuel_rate", STATE_UNAVAILABLE)
        await hours_from("curve")
        # The ECU reports again: its rate is shown and counted at once.
        await next_poll(812)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_fuel_rate", "8.12")
        await hours_from("controller")
    finally:
        for meta in metas:
            await field.publish(meta["topic"], b"", retain=True)
        await field.publish(f"{base}/node/{node}/status", b"", retain=True)


def test_tank_level_follows_the_tanks_shape(harness: Harness) -> None:
    diameter = 1.1  # fuel-tank.yaml's tank_height
    # A lying cylinder filled to a quarter of its diameter holds 19.55 % of its volume.
    assert harness.numbers(
        "horizontal-cylinder", 0.0, diameter / 4, diameter / 2, diameter, 1.5, -0.2, math.nan
    ) == pytest.approx([0.0, 19.550, 50.0, 100.0, 100.0, 0.0, None], abs=0.01)
    for shape in ("vertical-cylinder", "rectangular"):
        assert harness.numbers(shape, 0.0, diameter / 4, diameter, 2.0, math.nan) == pytest.approx(
            [0.0, 25.0, 100.0, 100.0, None], abs=0.01
        )


def test_ultrasonic_sensors_measure_from_the_top(harness: Harness) -> None:
    sensor_to_bottom = 1.15  # fuel-tank.yaml
    # A02YYUW: millimetres to metres, median, throttle, then air gap to fill height.
    assert harness.numbers("a02yyuw_0", 0.4, math.nan) == pytest.approx(
        [sensor_to_bottom - 0.4, None]
    )
    # JSN-SR04T: a missed echo is dropped before the median, then the same conversion.
    assert harness.numbers("jsn-sr04t_0", math.nan, 0.4) == pytest.approx([None, 0.4])
    assert harness.numbers("jsn-sr04t_1", 0.4) == pytest.approx([sensor_to_bottom - 0.4])


def test_pressure_sensor_turns_loop_current_into_fill_height(harness: Harness) -> None:
    shunt, full_scale_kpa, density = 150.0, 20.0, 0.84  # tank-sensor-ads1115.yaml defaults
    full_head = full_scale_kpa / (density * 9.80665)
    volts = [0.004 * shunt, 0.012 * shunt, 0.020 * shunt, 0.002 * shunt, math.nan]
    assert harness.numbers("ads1115_0", *volts) == pytest.approx(
        [0.0, full_head / 2, full_head, None, None], abs=1e-4
    )


# --- a relay's command: ON/OFF, or JSON with its expiry ----------------------------------------

COMMAND_PROGRAM = r"""
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

// The node's clock, one relay, and ESPHome's warning log (to stderr), as the lambda sees them.
struct ESPTime {
  time_t timestamp;
  bool valid;
  bool is_valid() const { return valid; }
};
struct Clock {
  ESPTime current{0, false};
  ESPTime now() const { return current; }
};
struct Relay {
  int state = -1;
  void turn_on() { state = 1; }
  void turn_off() { state = 0; }
};
#define id(name) (name)
#define ESP_LOGW(tag, ...) (std::fprintf(stderr, __VA_ARGS__), std::fputc('\n', stderr))
static bool commands_armed;
static Clock sntp_time;
static Relay load1_relay;

static void command(std::string x) {
BODY
}

// argv: armed (0/1), the clock's time (Unix seconds, or "unset"), the payload.
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  commands_armed = argv[1][0] == '1';
  const std::string clock = argv[2];
  sntp_time.current = {clock == "unset" ? 0 : (time_t) std::atoll(argv[2]), clock != "unset"};
  command(argv[3]);
  std::printf("%s\n", load1_relay.state == 1 ? "ON" : load1_relay.state == 0 ? "OFF" : "-");
  return 0;
}
"""


NOW = 1_795_345_200  # the node's clock in these tests, Unix seconds


@dataclass(frozen=True)
class Switched:
    """What the relay did with one command, and the warning it logged."""

    relay: str  # "ON", "OFF" or "-" (not switched)
    warning: str


class RelayHarness:
    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def command(self, payload: str, clock: int | None = NOW, armed: bool = True) -> Switched:
        completed = subprocess.run(
            [str(self.binary), "1" if armed else "0", str(clock or "unset"), payload],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return Switched(completed.stdout.strip(), completed.stderr.strip())


@pytest.fixture(scope="module")
def relay(
    esphome_results: dict[Variant, Result], tmp_path_factory: pytest.TempPathFactory
) -> RelayHarness:
    compiler = _gxx()
    config = valid_config(esphome_results, Variant("load-relays.yaml"))
    [trigger] = [t for t in config["mqtt"]["on_message"] if t["topic"].endswith("/freezers/set")]
    body = trigger["then"][0]["lambda"]
    assert "load1_relay" in body
    workdir = tmp_path_factory.mktemp("relay")
    source = workdir / "relay.cpp"
    source.write_text(COMMAND_PROGRAM.replace("BODY", body), encoding="utf-8")
    binary = workdir / "relay"
    compiled = subprocess.run(
        [compiler, "-std=gnu++20", "-Wall", "-Werror", "-O1", "-o", str(binary), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert compiled.returncode == 0, (
        f"the relay's command lambda does not compile:\n{compiled.stderr}"
    )
    return RelayHarness(binary)


def _sent(action: str, expires_in: float) -> str:
    """The payload Home Assistant sends, expiring `expires_in` seconds after NOW."""
    expires = datetime.fromtimestamp(NOW + expires_in, UTC)
    return topics.command_payload(Command("load", "freezers", action), expires)


def test_relay_carries_out_what_home_assistant_sends_before_it_expires(
    relay: RelayHarness,
) -> None:
    assert relay.command(_sent("turn_off", 10)) == Switched("OFF", "")
    assert relay.command(_sent("turn_on", 0)) == Switched("ON", "")  # its last second
    # Plain ON/OFF, as before commands carried their expiry, and as spaced JSON.
    assert relay.command("OFF").relay == "OFF"
    assert relay.command("ON").relay == "ON"
    spaced = f'{{ "expires" : {NOW + 5}, "state" : "OFF" }}'
    assert relay.command(spaced) == Switched("OFF", "")
    # A PLC or a shell may end a plain command with a line end (docs/mqtt.md, Payloads).
    assert relay.command("OFF\r\n") == Switched("OFF", "")
    assert relay.command(" ON\n") == Switched("ON", "")
    assert relay.command(f"{_sent('turn_off', 10)}\n") == Switched("OFF", "")
    # Any JSON number of seconds, as a PLC may write it.
    assert relay.command(f'{{"state": "ON", "expires": {NOW + 5:.9e}}}') == Switched("ON", "")


def test_relay_refuses_an_expired_command_and_says_so(relay: RelayHarness) -> None:
    # Queued across a link loss and delivered 183 s after it was sent.
    late = relay.command(_sent("turn_off", -173))
    assert late == Switched("-", "Freezers: ignored an expired command (173 s past its expiry)")
    assert relay.command(_sent("turn_off", -1)).relay == "-"


def test_relay_without_valid_time_refuses_what_it_cannot_check(relay: RelayHarness) -> None:
    unset = relay.command(_sent("turn_off", 10), clock=None)
    assert unset == Switched(
        "-", "Freezers: ignored a command: the node has no valid time to check its expiry"
    )
    # A plain command has no expiry to check.
    assert relay.command("OFF", clock=None).relay == "OFF"


def test_relay_refuses_stale_and_malformed_commands(relay: RelayHarness) -> None:
    stale = relay.command(_sent("turn_off", 10), armed=False)
    assert stale.relay == "-"
    assert "retained or stale" in stale.warning
    never = (
        '{"state": "OFF"}',
        '{"state": "OFF", "expires": "soon"}',
        "{",
        # Not a JSON number of seconds: a string, or what would never expire.
        f'{{"state": "OFF", "expires": "{NOW + 10}"}}',
        '{"state": "OFF", "expires": NaN}',
        '{"state": "OFF", "expires": Infinity}',
        '{"state": "OFF", "expires": inf}',
        '{"state": "OFF", "expires": 0x7fffffff}',
    )
    for payload in never:
        assert relay.command(payload) == Switched(
            "-", "Freezers: ignored a command without its expiry"
        ), payload
    for payload in (f'{{"state": "off", "expires": {NOW + 5}}}', "MAYBE", ""):
        assert relay.command(payload) == Switched(
            "-", "Freezers: ignored a command that is neither ON nor OFF"
        ), payload


# --- every lambda compiles ----------------------------------------------------------------------

STUBS = r"""
struct AnySensor {
  float state = NAN;
  bool has_state() const;
  void publish_state(float value);
};
struct AnyBinarySensor {
  bool state = false;
  bool has_state() const;
  void publish_state(bool value);
};
struct AnyTextSensor {
  std::string state;
  bool has_state() const;
  void publish_state(const std::string &value);
  void publish_state(const char *value);
};
struct AnySwitch {
  bool state = false;
  void turn_on();
  void turn_off();
  void toggle();
};
struct AnyScript {
  void execute();
  void stop();
};
struct ESPTime {
  time_t timestamp = 0;
  bool is_valid() const;
};
struct AnyTime {
  ESPTime now();
};
#define ESP_LOGW(tag, ...) std::printf(__VA_ARGS__)
"""

ENTITY_TYPES = {
    "sensor": "AnySensor",
    "binary_sensor": "AnyBinarySensor",
    "text_sensor": "AnyTextSensor",
    "switch": "AnySwitch",
    "script": "AnyScript",
}
STATE_TYPES = {"sensor": "float", "binary_sensor": "bool", "text_sensor": "std::string"}
# The type of `x` inside a trigger's actions, by (domain, trigger); other triggers pass none.
TRIGGER_X = {
    ("sensor", "on_value"): "float",
    ("sensor", "on_raw_value"): "float",
    ("binary_sensor", "on_state"): "bool",
    ("text_sensor", "on_value"): "std::string",
    ("mqtt", "on_message"): "std::string",
}


def _declarations(config: dict[str, Any]) -> dict[str, str]:
    """The ids a lambda can reach through id(...), with a stand-in type for each."""
    declared: dict[str, str] = {}
    for item in config.get("globals", []):
        declared[item["id"]] = item["type"]
    for item in config.get("time", []):
        declared[item["id"]] = "AnyTime"
    for domain, stub in ENTITY_TYPES.items():
        for item in config.get(domain, []):
            candidates = [item] + [
                value
                for key, value in item.items()
                if isinstance(value, dict) and not key.startswith("on_") and key != "filters"
            ]
            for candidate in candidates:
                if isinstance(candidate.get("id"), str):
                    declared.setdefault(candidate["id"], stub)
    return declared


@dataclass(frozen=True)
class Site:
    """Where a lambda sits: its domain, the type of `x` there, and whether it is a filter."""

    domain: str
    x: str | None = None
    in_filters: bool = False
    in_condition: bool = False


def _collect(value: Any, site: Site, entity: bool, found: list[tuple[str, str, str]]) -> None:
    """(return type, parameter list, body) of every lambda below `value`."""
    if isinstance(value, list):
        for item in value:
            _collect(item, site, entity, found)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if isinstance(item, Lambda):
            parameter = f"{site.x} x" if site.x else ""
            state = STATE_TYPES.get(site.domain, "float")
            if key == "payload":
                found.append(("std::string", parameter, item))
            elif key != "lambda":
                raise AssertionError(f"a lambda under {key!r} in {site.domain}: teach this test")
            elif site.in_filters:
                found.append((f"optional<{state}>", f"{state} x", item))
            elif site.in_condition:
                found.append(("bool", parameter, item))
            elif entity:
                found.append((f"optional<{state}>", "", item))
            else:
                found.append(("void", parameter, item))
        elif key == "filters":
            _collect(item, Site(site.domain, site.x, in_filters=True), False, found)
        elif key == "condition":
            _collect(item, Site(site.domain, site.x, in_condition=True), False, found)
        elif key.startswith("on_"):
            _collect(item, Site(site.domain, TRIGGER_X.get((site.domain, key))), False, found)
        else:
            _collect(item, site, False, found)


def _lambdas(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for domain, section in config.items():
        if domain in ENTITY_TYPES and isinstance(section, list):
            for item in section:
                _collect(item, Site(domain), True, found)
        else:
            _collect(section, Site(domain), False, found)
    return found


def test_every_lambda_compiles(
    esphome_results: dict[Variant, Result], tmp_path_factory: pytest.TempPathFactory
) -> None:
    compiler = _gxx()
    units = [PRELUDE, STUBS]
    total = 0
    for number, variant in enumerate(esphome_results):
        if dict(variant.substitutions).keys() <= {"network"} and variant.substitutions:
            continue  # the network changes no lambda
        config = valid_config(esphome_results, variant)
        units.append(f"// {variant.label}\nnamespace node{number} {{\n")
        units += [f"{kind} {name};\n" for name, kind in _declarations(config).items()]
        for index, (returns, parameters, body) in enumerate(_lambdas(config)):
            units.append(f"{returns} lambda{index}({parameters}) {{\n{body}\n}}\n")
            total += 1
        units.append("}\n")
    source = tmp_path_factory.mktemp("all-lambdas") / "all.cpp"
    source.write_text("".join(units), encoding="utf-8")
    compiled = subprocess.run(
        [compiler, "-std=gnu++20", "-fsyntax-only", "-Wall", "-Werror", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert compiled.returncode == 0, f"a node's lambda does not compile:\n{compiled.stderr}"
    assert total > 40, f"only {total} lambdas found"
