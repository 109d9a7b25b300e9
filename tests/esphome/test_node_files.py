"""Every node file, with every package it can choose, is a valid ESPHome configuration that keeps
working without a broker and speaks only the SOT contract over MQTT."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .nodes import (
    ESPHOME,
    NODE_FILES,
    ROOT,
    Result,
    Variant,
    esphome_binary,
    prepare_workdir,
    run_config,
    valid_config,
    variants,
    walk,
)

VARIANTS = variants()


def test_every_node_type_has_a_file() -> None:
    assert set(NODE_FILES) == {
        "freezers.yaml",
        "fuel-tank.yaml",
        "generator-gateway.yaml",
        "grid-monitor.yaml",
        "load-relays.yaml",
    }


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_esphome_config_accepts(esphome_results: dict[Variant, Result], variant: Variant) -> None:
    valid_config(esphome_results, variant)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_node_keeps_working_without_broker_or_home_assistant(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    config = valid_config(esphome_results, variant)
    mqtt = config["mqtt"]
    assert mqtt["reboot_timeout"] == "0s", "the node would reboot while the broker is down"
    if "wifi" in config:
        assert config["wifi"]["reboot_timeout"] == "0s", "the node would reboot without Wi-Fi"
    if "api" in config:
        assert config["api"]["reboot_timeout"] == "0s", "the node would reboot without HA"
    assert mqtt["discovery"] is False, "Home Assistant's MQTT discovery is not the contract"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_node_status_is_the_contracts_birth_and_last_will(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    config = valid_config(esphome_results, variant)
    node = config["esphome"]["name"]
    mqtt = config["mqtt"]
    prefix = mqtt["topic_prefix"]
    assert prefix.startswith("sot/"), prefix
    assert prefix.endswith(f"/node/{node}"), prefix
    status = f"{prefix}/status"
    for key in ("will_message", "shutdown_message"):
        message = mqtt[key]
        assert (message["topic"], message["payload"], message["retain"]) == (
            status,
            "offline",
            True,
        ), f"{key}: {message}"
    birth = mqtt.get("birth_message")
    if birth is not None:
        assert (birth["topic"], birth["payload"], birth["retain"]) == (status, "online", True)


def test_load_relays_keep_the_food_cold_and_the_heater_off_across_a_restart(
    esphome_results: dict[Variant, Result],
) -> None:
    config = valid_config(esphome_results, Variant("load-relays.yaml"))
    relays = {switch["name"]: switch for switch in config["switch"] if switch["platform"] == "gpio"}
    assert set(relays) == {"Freezers", "Chilled cases", "Warm room heater"}
    for name in ("Freezers", "Chilled cases"):
        # Powered through a restart and while the node is dead: on at boot, and on the
        # normally-closed contact of an active-low board (docs/esphome.md), so an unpowered
        # coil or a floating pin leaves the load on.
        assert relays[name]["restore_mode"] == "ALWAYS_ON", name
        assert relays[name]["pin"]["inverted"] is False, name
    heater = relays["Warm room heater"]
    # Off after every restart, whatever it was before: a node that loses its power with the
    # grid boots on the generator, and a heater brought back on then (50 kW on Kall's 56 kW set)
    # would land on the generator with the compressors' inrush before Home Assistant can shed
    # it. A shed heater must not come on with the node either.
    assert heater["restore_mode"] == "ALWAYS_OFF"
    assert heater["pin"]["inverted"] is True  # normally open
    for relay in relays.values():
        # An MQTT switch would obey its command topic directly, retained messages included.
        assert relay["internal"] is True, relay["id"]
    for trigger in config["mqtt"]["on_message"]:
        # The command's handler returns before it switches anything unless commands are armed.
        handler = trigger["then"][0]["lambda"]
        guard = handler.index("if (!id(commands_armed)) {")
        assert guard < handler.index("turn_o"), trigger["topic"]
        assert handler[guard:].split("}", 1)[0].rstrip().endswith("return;"), trigger["topic"]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_messages_sent_on_connect_wait_until_the_client_can_publish(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    config = valid_config(esphome_results, variant)
    automations = config["mqtt"].get("on_connect", [])
    assert len(automations) == 1, "the packages' on_connect actions must run in one sequence"
    actions = automations[0]["then"]
    assert actions[0] == {"wait_until": {"condition": {"mqtt.connected": {}}, "timeout": "10s"}}


def test_freezer_alarm_uses_the_limit_its_meta_announces(
    esphome_results: dict[Variant, Result],
) -> None:
    config = valid_config(esphome_results, Variant("freezers.yaml"))
    announced = {}
    for mapping in walk(config["mqtt"]["on_connect"]):
        publish = mapping.get("mqtt.publish")
        if publish and publish["topic"].endswith("/meta"):
            announced[publish["topic"].split("/")[-2]] = json.loads(publish["payload"])["critical"]
    probes = {
        sensor["id"]: sensor["state_topic"].split("/")[-2]
        for sensor in config["sensor"]
        if sensor["platform"] == "dallas_temp"
    }
    alarms = [
        sensor for sensor in config["binary_sensor"] if sensor.get("id", "").endswith("_critical")
    ]
    assert len(alarms) == len(probes) == len(announced) == 2
    for alarm in alarms:
        probe = alarm["id"].removesuffix("_critical") + "_temperature"
        limit = announced[probes[probe]]
        assert f"id({probe}).state > {limit};" in alarm["lambda"], alarm["lambda"]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_modbus_silence_does_not_flood_the_debug_topic(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    """The debug topic takes warnings and crosses the bridge to the county: the Modbus layer's
    warning for every unanswered request (a PZEM silent through an outage, a controller gone)
    must not reach it; the node's status and readings say it."""
    config = valid_config(esphome_results, variant)
    if "modbus" not in config:
        return
    assert config["mqtt"]["log_topic"]["level"] == "WARN"
    assert config["logger"].get("logs", {}).get("modbus") == "ERROR"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.label)
def test_a_misreading_tank_sensor_does_not_flood_the_debug_topic(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    """The A02YYUW streams several frames a second, and ESPHome warns of every frame with a
    bad checksum (noise on a long cable) or inside the blind zone (a wet face, a brim-full
    tank): thousands of warnings an hour into the debug topic and the county's queue. Those
    frames are never published, and a sensor that stops reading goes stale."""
    config = valid_config(esphome_results, variant)
    if not any(sensor["platform"] == "a02yyuw" for sensor in config.get("sensor", [])):
        return
    assert config["mqtt"]["log_topic"]["level"] == "WARN"
    assert config["logger"].get("logs", {}).get("a02yyuw.sensor") == "ERROR"


def test_the_gateway_is_online_once_the_controller_answers_on_any_page(
    esphome_results: dict[Variant, Result],
) -> None:
    """A controller that refuses one page (page 5 is second-hand, DOMAIN.md) still counts as
    answering: the first answer on page 3 or 5 sets the node online, and so does the first
    answer after it went offline."""
    config = valid_config(esphome_results, Variant("generator-gateway.yaml"))
    proving = {
        sensor["address"]
        for sensor in config["sensor"]
        if sensor["platform"] == "modbus_controller"
        and "controller_answered" in json.dumps(sensor.get("on_raw_value", []))
    }
    assert {772, 1408} <= proving
    [controller] = config["modbus_controller"]
    assert "controller_answered" in json.dumps(controller["on_online"])
    assert "controller_answering" in json.dumps(controller["on_offline"])
    [script] = [s for s in config["script"] if s["id"] == "controller_answered"]
    assert "publish_availability" in json.dumps(script["then"])


@pytest.mark.parametrize("inverted", [False, True])
def test_freezer_alarm_drives_an_active_low_relay_module_too(
    tmp_path: Path, inverted: bool
) -> None:
    """The alarm output drives a buzzer transistor (active high) or a relay module, most of
    which switch on a low input: with one, an output that cannot be inverted sounds the siren
    while every freezer is fine and silences it when one is critical. Off at boot either way."""
    variant = Variant("freezers.yaml", (("alarm_inverted", str(inverted).lower()),))
    result = run_config(esphome_binary(), prepare_workdir(tmp_path), variant)
    config = valid_config({variant: result}, variant)
    [alarm] = [switch for switch in config["switch"] if switch["id"] == "alarm_output"]
    assert alarm["pin"]["inverted"] is inverted
    assert alarm["restore_mode"] == "ALWAYS_OFF"


# A stand-in for ESPHome's logger: prints what ESPHome's own log macros let through.
LOG_PROGRAM = r"""
#include "esphome/core/log.h"
#include <cstdio>
namespace esphome {
void esp_log_printf_(int, const char *, int, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
}
}  // namespace esphome
int main() {
  const char *tag = "one_wire";
  MACRO(tag, "    0x%s (%s)", "1c0000031edd2a28", "DS18B20");
  return 0;
}
"""


def test_the_freezer_node_logs_the_probe_addresses_it_finds(
    esphome_results: dict[Variant, Result], tmp_path: Path
) -> None:
    """docs/esphome.md: at boot the freezer node logs the address of every DS18B20 on its bus,
    which goes into `probe_address` (also when a dead probe is replaced). ESPHome's one-wire bus
    logs them with a macro its log.h compiles in only from some log level on: the line is
    compiled with ESPHome's own log.h at the level the node's configuration builds with."""
    config = valid_config(esphome_results, Variant("freezers.yaml"))
    [package] = ESPHOME.parent.parent.glob("lib/python3*/site-packages/esphome")
    bus = (package / "components" / "one_wire" / "one_wire_bus.cpp").read_text(encoding="utf-8")
    found = re.search(r'(ESP_LOG\w+)\(tag, "    0x%s \(%s\)"', bus)
    assert found, "ESPHome's one-wire bus no longer logs the addresses it finds this way"
    compiler = shutil.which("g++")
    assert compiler, "g++ is missing: install it (apt-get install g++)"
    source = tmp_path / "log.cpp"
    source.write_text(LOG_PROGRAM.replace("MACRO", found.group(1)), encoding="utf-8")
    level = config["logger"]["level"]
    compiled = subprocess.run(
        [
            compiler,
            "-std=gnu++20",
            f"-I{package.parent}",
            f"-DESPHOME_LOG_LEVEL=ESPHOME_LOG_LEVEL_{level}",
            "-o",
            str(tmp_path / "log"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr
    shown = subprocess.run(
        [str(tmp_path / "log")], capture_output=True, text=True, timeout=30, check=True
    )
    assert "0x1c0000031edd2a28 (DS18B20)" in shown.stdout, (
        f"at log level {level} the node does not log the probes it finds on its bus"
    )


LOG_LEVELS = ["NONE", "ERROR", "WARN", "INFO", "CONFIG", "DEBUG", "VERBOSE", "VERY_VERBOSE"]


def _reaches_debug_topic(config: dict[str, object], tag: str, level: str) -> bool:
    """Whether a line ESPHome logs at `level` under `tag` is published on the node's debug
    topic: the logger drops what is above the tag's level (`logs:`, else `level:`), and its MQTT
    listener what is above the topic's level."""
    logger = config["logger"]
    assert isinstance(logger, dict)
    mqtt = config["mqtt"]
    assert isinstance(mqtt, dict)
    tag_level = logger.get("logs", {}).get(tag, logger["level"])
    rank = LOG_LEVELS.index
    return rank(level) <= min(rank(tag_level), rank(mqtt["log_topic"]["level"]))


def test_a_page_the_controller_refuses_does_not_flood_the_debug_topic(
    esphome_results: dict[Variant, Result],
) -> None:
    """A model that refuses a page the gateway reads (page 5 is second-hand, DOMAIN.md) answers
    that read with a Modbus exception at every poll, and ESPHome's Modbus controller logs each
    one as errors: 1440 lines an hour per page into the debug topic and the county's queue.
    The readings of that page are simply missing; the controller going offline and coming back
    is still said, once each."""
    config = valid_config(esphome_results, Variant("generator-gateway.yaml"))
    [package] = ESPHOME.parent.parent.glob("lib/python3*/site-packages/esphome")
    source = (package / "components" / "modbus_controller" / "modbus_controller.cpp").read_text(
        encoding="utf-8"
    )
    found = re.search(r'static const char \*const TAG = "([^"]+)"', source)
    assert found
    tag = found.group(1)
    body = source[source.index("void ModbusController::on_modbus_error") :]
    body = body[: body.index("\n}\n")]
    letters = {"E": "ERROR", "W": "WARN", "I": "INFO", "D": "DEBUG", "V": "VERBOSE"}
    logged = [letters[letter] for letter in re.findall(r"ESP_LOG([EWIDV])\(TAG", body)]
    assert logged, "ESPHome no longer logs a Modbus exception answer this way"
    assert not [level for level in logged if _reaches_debug_topic(config, tag, level)], (
        f"every exception answer is published on the debug topic ({tag}: {logged})"
    )
    [controller] = config["modbus_controller"]
    for trigger in ("on_offline", "on_online"):
        said = [
            action["logger.log"]
            for automation in controller[trigger]
            for action in automation["then"]
            if "logger.log" in action
        ]
        assert said, f"{trigger}: the controller's change is not logged"
        for log in said:
            assert _reaches_debug_topic(config, log["tag"], log["level"]), log


def test_the_docs_update_a_node_at_the_address_esphome_gives_it(tmp_path: Path) -> None:
    """docs/esphome.md's steps copy `freezers.yaml` to `kall-freezers.yaml`, set the site, and
    later update the node over the network at the address they name: it must be the one
    ESPHome resolves for that file (the node's id, not the file's name)."""
    docs = (ROOT / "docs" / "esphome.md").read_text(encoding="utf-8")
    copied = re.search(r"`freezers\.yaml` to `([a-z-]+\.yaml)`", docs)
    assert copied, "the steps no longer copy freezers.yaml"
    workdir = prepare_workdir(tmp_path)
    shutil.copyfile(workdir / "freezers.yaml", workdir / copied.group(1))
    result = run_config(esphome_binary(), workdir, Variant(copied.group(1), (("site", "kall"),)))
    assert result.returncode == 0, result.report
    named = re.findall(r"--device ([a-z0-9.-]+\.local)", docs)
    assert named, "the steps no longer name the node's address"
    assert set(named) == {result.config["wifi"]["use_address"]}
