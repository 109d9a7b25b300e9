"""The node files and the integration's topic parser agree on the MQTT contract.

Every topic is read from the configuration `esphome config` resolved (substitutions applied,
packages merged) and handed, with the payload the node would send, to the integration's own
parser. A topic, unit or payload word that drifts on either side fails here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.sot.mqtt import topics
from custom_components.sot.site.readings import Command, Parsed, RejectReason
from custom_components.sot.site.vocabulary import ValueType, quantity

from .nodes import (
    Publication,
    Result,
    Subscription,
    Variant,
    lambdas_publishing_to,
    publications,
    string_literals,
    subscriptions,
    valid_config,
    variants,
)

NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)

# What each node file, as shipped, must publish: (kind, id, quantity).
EXPECTED_READINGS: dict[str, set[tuple[str, str, str]]] = {
    "freezers.yaml": {
        (kind, freezer, name)
        for kind in ("freezer",)
        for freezer in ("f1", "f2")
        for name in ("temperature", "door")
    },
    "fuel-tank.yaml": {("tank", "main", "level"), ("tank", "main", "volume")},
    "grid-monitor.yaml": {
        # Voltage, not "present": the site decides with its one grid voltage threshold.
        ("grid", "main", name)
        for name in ("voltage", "frequency", "power", "energy")
    },
    "load-relays.yaml": {("load", load, "state") for load in ("freezers", "chilled", "heater")},
    "generator-gateway.yaml": {
        *(
            ("generator", "main", name)
            for name in (
                "state",
                "mode",
                "alarm",
                "power",
                "load",
                "voltage",
                "frequency",
                "current",
                "oil_pressure",
                "coolant_temperature",
                "battery_voltage",
                "speed",
                "fuel_rate",
                "run_hours",
                "energy",
                "starts",
            )
        ),
        ("tank", "main", "level"),
        *(("grid", "main", name) for name in ("voltage", "frequency")),
    },
}

# A value a healthy site would show for each numeric quantity, in the contract's unit.
REALISTIC: dict[tuple[str, str], float] = {
    ("freezer", "temperature"): -18.4,
    ("tank", "level"): 64.5,
    ("tank", "volume"): 774.0,
    ("grid", "voltage"): 231.4,
    ("grid", "frequency"): 50.01,
    ("grid", "power"): 3.25,
    ("grid", "energy"): 18234.5,
    ("generator", "power"): 23.5,
    ("generator", "load"): 42.0,
    ("generator", "voltage"): 230.6,
    ("generator", "frequency"): 50.0,
    ("generator", "current"): 34.1,
    ("generator", "oil_pressure"): 380.0,
    ("generator", "coolant_temperature"): 82.0,
    ("generator", "battery_voltage"): 13.6,
    ("generator", "speed"): 1500.0,
    ("generator", "fuel_rate"): 7.9,
    ("generator", "run_hours"): 1234.5,
    ("generator", "energy"): 45678.9,
    ("generator", "starts"): 312.0,
}

SHIPPED = [variant for variant in variants() if not variant.substitutions]
ALL = variants()


def _base(config: dict[str, Any]) -> tuple[str, str]:
    """The site's base topic (`sot/<site>`) and the node's id, from the resolved config."""
    node = config["esphome"]["name"]
    prefix = config["mqtt"]["topic_prefix"]
    base, separator, tail = prefix.partition("/node/")
    assert separator, f"topic_prefix {prefix!r} is not sot/<site>/node/<node>"
    assert tail == node, f"topic_prefix {prefix!r} does not end in the node's name {node!r}"
    return base, node


def _parse(base: str, topic: str, payload: str) -> Parsed:
    return topics.parse_message(base, topic, payload, NOW)


def _payloads(config: dict[str, Any], publication: Publication) -> list[str]:
    """The payloads this publication can carry, as the node would format them."""
    kind, _, name = publication.topic.split("/")[-3:]
    spec = quantity(kind, name)
    assert spec is not None, f"{publication.topic}: the contract has no quantity {kind}/{name}"
    if publication.payload_is_lambda:
        return string_literals(publication.payload or "")
    if publication.payload is not None:
        return [publication.payload]
    entity = publication.entity or {}
    if publication.source in ("binary_sensor", "switch"):
        return ["ON", "OFF"]
    if publication.source == "text_sensor":
        return [
            word
            for code in lambdas_publishing_to(config, entity["id"])
            for word in string_literals(code)
        ]
    value = REALISTIC[(kind, name)]
    return [f"{value:.{entity.get('accuracy_decimals', 2)}f}"]


def _check_reading(
    config: dict[str, Any], base: str, publication: Publication
) -> tuple[str, str, str]:
    kind, component_id, name = publication.topic.removeprefix(base + "/").split("/")
    spec = quantity(kind, name)
    assert spec is not None, f"{publication.topic}: unknown quantity"
    assert publication.retain is False, f"{publication.topic}: readings are never retained"

    entity = publication.entity
    if entity is not None:
        expected_source = {
            ValueType.NUMBER: "sensor",
            ValueType.BOOL: "binary_sensor",
            ValueType.ENUM: "text_sensor",
        }[spec.type]
        assert publication.source == expected_source, (
            f"{publication.topic}: a {spec.type} quantity published by a {publication.source}"
        )
        if spec.type is ValueType.NUMBER:
            assert entity.get("unit_of_measurement") == spec.unit, (
                f"{publication.topic}: the node measures in {entity.get('unit_of_measurement')!r}, "
                f"the contract in {spec.unit!r}"
            )

    payloads = _payloads(config, publication)
    assert payloads, f"{publication.topic}: found no payload the node would send"
    for payload in payloads:
        parsed = _parse(base, publication.topic, payload)
        if payload == "nan":
            # The node saying it has no reading (a controller's "not available"): refused as
            # that, so the value shown goes stale instead of staying live.
            assert (parsed.readings, [(r.reason, r.quantity) for r in parsed.rejections]) == (
                [],
                [(RejectReason.NO_READING, (kind, component_id, name))],
            ), f"{publication.topic} {payload!r}: {parsed.rejections}"
            continue
        assert not parsed.rejections, f"{publication.topic} {payload!r}: {parsed.rejections}"
        assert [(r.kind, r.id, r.quantity) for r in parsed.readings] == [(kind, component_id, name)]
    return kind, component_id, name


def _check_meta(base: str, node: str, publication: Publication) -> tuple[str, str]:
    assert publication.retain is True, f"{publication.topic}: meta must be retained"
    assert publication.payload is not None, f"{publication.topic}: meta without a payload"
    assert not publication.payload_is_lambda, f"{publication.topic}: meta must be fixed JSON"
    parsed = _parse(base, publication.topic, publication.payload)
    assert not parsed.rejections, f"{publication.topic}: {parsed.rejections}"
    meta = parsed.meta
    assert meta is not None, f"{publication.topic} is not a meta topic"
    assert meta.node == node, f"{publication.topic}: meta names node {meta.node!r}, not {node!r}"
    assert meta.name, f"{publication.topic}: meta without a name"
    sent = set(json.loads(publication.payload)) - {"name", "node"}
    assert sent == set(meta.settings), f"{publication.topic}: settings {sent} not all kept"
    return meta.kind, meta.id


def _check_status(base: str, node: str, publication: Publication) -> set[str]:
    assert publication.retain is True, f"{publication.topic}: node status must be retained"
    payloads = (
        string_literals(publication.payload or "")
        if publication.payload_is_lambda
        else [publication.payload or ""]
    )
    for payload in payloads:
        parsed = _parse(base, publication.topic, payload)
        assert not parsed.rejections, f"{publication.topic} {payload!r}: {parsed.rejections}"
        assert parsed.status is not None, f"{publication.topic} {payload!r} is not a status"
        assert parsed.status.node == node, publication.topic
    return set(payloads)


@pytest.mark.parametrize("variant", ALL, ids=lambda variant: variant.label)
def test_published_topics_are_the_contracts(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    config = valid_config(esphome_results, variant)
    base, node = _base(config)
    status_topic = topics.status_topic(base, node)
    readings: set[tuple[str, str, str]] = set()
    metas: set[tuple[str, str]] = set()
    status_payloads: set[str] = set()

    for publication in publications(config):
        assert publication.topic.startswith(base + "/"), (
            f"{publication.topic} is outside the site's base topic {base}"
        )
        if publication.topic == status_topic:
            status_payloads |= _check_status(base, node, publication)
        elif publication.topic.startswith(f"{base}/node/"):
            # The node's own diagnostics (its log): the integration must ignore them.
            assert publication.topic.startswith(f"{base}/node/{node}/"), publication.topic
            parsed = _parse(base, publication.topic, "some log line")
            assert (parsed.readings, parsed.rejections, parsed.status, parsed.meta) == (
                [],
                [],
                None,
                None,
            ), publication.topic
        elif publication.topic.endswith("/" + topics.META):
            metas.add(_check_meta(base, node, publication))
        else:
            readings.add(_check_reading(config, base, publication))

    assert {"online", "offline"} <= status_payloads, (
        f"{status_topic}: the node announces {status_payloads or 'nothing'}"
    )
    components = {(kind, component_id) for kind, component_id, _ in readings}
    assert components <= metas, (
        f"no retained meta links {sorted(components - metas)} to node {node!r}: "
        "they would not follow the node's availability"
    )
    # Package choices change how a node measures, never what it publishes.
    assert readings == EXPECTED_READINGS[variant.file]


def _echoed_state_topic(subscription: Subscription) -> str | None:
    for action in subscription.actions:
        publish = action.get("mqtt.publish") if isinstance(action, dict) else None
        if publish:
            return str(publish["topic"])
    return None


@pytest.mark.parametrize("variant", SHIPPED, ids=lambda variant: variant.label)
def test_subscriptions_are_the_integrations_command_topics(
    esphome_results: dict[Variant, Result], variant: Variant
) -> None:
    config = valid_config(esphome_results, variant)
    base, _ = _base(config)
    for subscription in subscriptions(config):
        assert subscription.source == "on_message", (
            f"{subscription.topic}: commands only through the guarded on_message handler"
        )
        echoed = _echoed_state_topic(subscription)
        assert echoed is not None, f"{subscription.topic}: the command's result is not echoed"
        kind, load_id, name = echoed.removeprefix(base + "/").split("/")
        assert (kind, name) == ("load", "state"), echoed
        for action in ("turn_on", "turn_off"):
            command = Command(kind, load_id, action)
            assert subscription.topic == topics.command_topic(base, command)
            # The handler reads the keys Home Assistant writes and its ON/OFF words (the
            # lambda tests run it on what Home Assistant sends).
            handler = json.dumps(subscription.actions)
            assert f'state == \\"{topics.command_payload(command)}\\"' in handler
        for key in (topics.STATE_KEY, topics.EXPIRES_KEY):
            assert f'token_of(\\"{key}\\")' in handler, key
        assert subscription.qos == 1, f"{subscription.topic}: commands are sent with QoS 1"
        parsed = _parse(base, subscription.topic, "ON")
        assert (parsed.readings, parsed.rejections) == ([], [])


def test_load_relays_subscribe_to_every_load_they_report(
    esphome_results: dict[Variant, Result],
) -> None:
    config = valid_config(esphome_results, Variant("load-relays.yaml"))
    reported = {
        publication.topic.split("/")[-2]
        for publication in publications(config)
        if publication.topic.endswith("/state")
    }
    commanded = {subscription.topic.split("/")[-2] for subscription in subscriptions(config)}
    assert reported == commanded == {"freezers", "chilled", "heater"}
