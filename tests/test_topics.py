"""The MQTT topic contract's parser: every kind of good and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from custom_components.sot.mqtt.topics import (
    command_payload,
    command_topic,
    parse_message,
    site_from_status_topic,
    subscription,
)
from custom_components.sot.site.readings import Command, RejectReason

BASE = "sot/kall"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def reasons(topic: str, payload: bytes | str) -> list[RejectReason]:
    parsed = parse_message(BASE, topic, payload, NOW)
    assert not parsed.readings, f"{topic} {payload!r} gave readings {parsed.readings}"
    return [rejection.reason for rejection in parsed.rejections]


@pytest.mark.parametrize(
    ("topic", "payload", "value"),
    [
        ("sot/kall/freezer/f1/temperature", "-18.4", -18.4),
        ("sot/kall/freezer/f1/temperature", " -18 \n", -18.0),
        ("sot/kall/freezer/f1/door", "ON", True),
        ("sot/kall/freezer/f1/door", "closed", False),
        ("sot/kall/grid/main/present", "off", False),
        ("sot/kall/grid/main/present", "1", True),
        ("sot/kall/generator/main/state", "running", "running"),
        ("sot/kall/generator/main/mode", "auto", "auto"),
        ("sot/kall/tank/main/level", "100", 100.0),
        ("sot/kall/load/heater/state", "OFF", False),
        # What ESPHome, Node-RED and PLCs send, exactly as docs/mqtt.md allows it.
        ("sot/kall/freezer/f1/temperature", "-18.25", -18.25),
        ("sot/kall/freezer/f1/temperature", "-18.4\r\n", -18.4),
        ("sot/kall/freezer/f1/temperature", "\t007.50", 7.5),
        ("sot/kall/freezer/f1/door", "Open", True),
        ("sot/kall/freezer/f1/door", "FALSE", False),
        ("sot/kall/load/heater/state", "on", True),
        ("sot/kall/grid/main/present", "0", False),
    ],
)
def test_plain_payloads(topic: str, payload: str, value: object) -> None:
    parsed = parse_message(BASE, topic, payload, NOW)
    assert parsed.rejections == []
    assert [(r.kind, r.id, r.quantity, r.value) for r in parsed.readings] == [
        (*tuple(topic.split("/")[2:]), value)
    ]


def test_json_object_keeps_the_good_part_of_a_partly_bad_object() -> None:
    payload = json.dumps(
        {
            "state": "running",
            "load": 42.5,
            "on_load": True,
            "power": "x",
            "colour": "red",
            "speed": None,
        }
    )
    parsed = parse_message(BASE, "sot/kall/generator/main", payload, NOW)
    assert {r.quantity: r.value for r in parsed.readings} == {
        "state": "running",
        "load": 42.5,
        "on_load": True,
    }
    assert sorted(r.reason for r in parsed.rejections) == sorted(
        [RejectReason.NOT_A_NUMBER, RejectReason.UNKNOWN_QUANTITY, RejectReason.WRONG_TYPE]
    )


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("sot/kall/freezer/f1/temperature", "warm", RejectReason.NOT_A_NUMBER),
        ("sot/kall/freezer/f1/temperature", "", RejectReason.NOT_A_NUMBER),
        ("sot/kall/freezer/f1/temperature", "nan", RejectReason.NOT_FINITE),
        ("sot/kall/freezer/f1/temperature", "NaN", RejectReason.NOT_FINITE),
        ("sot/kall/freezer/f1/temperature", "inf", RejectReason.NOT_FINITE),
        ("sot/kall/freezer/f1/temperature", "-inf", RejectReason.NOT_FINITE),
        ("sot/kall/freezer/f1/temperature", "85", RejectReason.NO_READING),
        ("sot/kall/freezer/f1/temperature", "85.000", RejectReason.NO_READING),
        ("sot/kall/freezer/f1/temperature", "-127", RejectReason.NO_READING),
        ("sot/kall/freezer/f1/temperature", "-273", RejectReason.OUT_OF_RANGE),
        ("sot/kall/freezer/f1/temperature", "55", RejectReason.OUT_OF_RANGE),
        ("sot/kall/tank/main/level", "101", RejectReason.OUT_OF_RANGE),
        ("sot/kall/tank/main/level", "-1", RejectReason.OUT_OF_RANGE),
        ("sot/kall/grid/main/voltage", "1000000000", RejectReason.OUT_OF_RANGE),
        ("sot/kall/grid/main/present", "maybe", RejectReason.BAD_BOOL),
        ("sot/kall/generator/main/state", "exploded", RejectReason.BAD_ENUM),
        # A node's "no reading" of a word or an ON/OFF (a controller's "not available").
        ("sot/kall/generator/main/state", "nan", RejectReason.NO_READING),
        ("sot/kall/generator/main/mode", "NaN", RejectReason.NO_READING),
        ("sot/kall/generator/main", '{"alarm": "nan"}', RejectReason.NO_READING),
        ("sot/kall/grid/main/present", "nan", RejectReason.NO_READING),
        ("sot/kall/generator/main/state", "inf", RejectReason.BAD_ENUM),
        ("sot/kall/freezer/f1/temperature", "1" * 65, RejectReason.OVERSIZED),
        ("sot/kall/freezer/f1/temperature", b"\xff\xfe", RejectReason.BAD_ENCODING),
        ("sot/kall/freezer/f1/colour", "blue", RejectReason.UNKNOWN_QUANTITY),
        ("sot/kall/boiler/b1/temperature", "50", RejectReason.UNKNOWN_KIND),
        ("sot/kall/freezer/F1!/temperature", "-18", RejectReason.BAD_ID),
        ("sot/kall/freezer/f1/temperature/extra", "-18", RejectReason.BAD_TOPIC),
        ("sot/kall/freezer", "-18", RejectReason.BAD_TOPIC),
        ("sot/hallen/freezer/f1/temperature", "-18", RejectReason.BAD_TOPIC),
        ("sot/kall/freezer/f1", "{not json", RejectReason.BAD_JSON),
        ("sot/kall/freezer/f1", "[1, 2]", RejectReason.WRONG_TYPE),
        ("sot/kall/freezer/f1", '{"temperature": true}', RejectReason.WRONG_TYPE),
        ("sot/kall/freezer/f1", '{"temperature": NaN}', RejectReason.NOT_FINITE),
        ("sot/kall/freezer/f1", '{"temperature": 85}', RejectReason.NO_READING),
        ("sot/kall/freezer/f1", '{"door": 3}', RejectReason.WRONG_TYPE),
        ("sot/kall/generator/main", '{"energy": 1' + "0" * 400 + "}", RejectReason.OUT_OF_RANGE),
        (
            "sot/kall/freezer/f1",
            json.dumps({"temperature": -18, "pad": "x" * 5000}),
            RejectReason.OVERSIZED,
        ),
        ("sot/kall/node/freezers/status", "sleepy", RejectReason.BAD_ENUM),
        ("sot/kall/node/Bad Node/status", "online", RejectReason.BAD_ID),
        ("sot/kall/node/freezers/status", "o" * 100, RejectReason.OVERSIZED),
    ],
)
def test_bad_input_is_refused_with_its_reason(
    topic: str, payload: bytes | str, reason: RejectReason
) -> None:
    assert reasons(topic, payload) == [reason]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # Digits of other scripts: float() takes them, the contract does not.
        ("\uff11\uff18.\uff15", RejectReason.NOT_A_NUMBER),  # fullwidth 18.5
        ("-\u0661\u0668", RejectReason.NOT_A_NUMBER),  # Arabic-Indic -18
        ("\u0967\u096e", RejectReason.NOT_A_NUMBER),  # Devanagari 18
        # Python's own number syntax beyond the contract's.
        ("1_8.5", RejectReason.NOT_A_NUMBER),
        ("+5", RejectReason.NOT_A_NUMBER),
        ("1e1", RejectReason.NOT_A_NUMBER),
        ("-1.8E1", RejectReason.NOT_A_NUMBER),
        ("1e400", RejectReason.NOT_A_NUMBER),
        ("0x12", RejectReason.NOT_A_NUMBER),
        (".5", RejectReason.NOT_A_NUMBER),
        ("5.", RejectReason.NOT_A_NUMBER),
        ("--5", RejectReason.NOT_A_NUMBER),
        ("-18,5", RejectReason.NOT_A_NUMBER),
        ("- 18", RejectReason.NOT_A_NUMBER),
        ("18 5", RejectReason.NOT_A_NUMBER),
        # Only spaces, tabs and line ends around a payload are ignored.
        ("\u00a0-18", RejectReason.NOT_A_NUMBER),
        ("-18\u2003", RejectReason.NOT_A_NUMBER),
        ("-18\x0b", RejectReason.NOT_A_NUMBER),
        # How ESPHome, C and JavaScript write a missing reading: refused as not finite.
        ("-nan", RejectReason.NOT_FINITE),
        ("Infinity", RejectReason.NOT_FINITE),
        ("+inf", RejectReason.NOT_FINITE),
    ],
)
def test_numbers_are_exactly_the_contracts(payload: str, reason: RejectReason) -> None:
    assert reasons("sot/kall/freezer/f1/temperature", payload) == [reason]


@pytest.mark.parametrize("payload", ["-0", "-0.0", "0", "-0.00", "0.0"])
def test_minus_zero_is_zero(payload: str) -> None:
    (reading,) = parse_message(BASE, "sot/kall/freezer/f1/temperature", payload, NOW).readings
    assert str(reading.value) == "0.0"
    (reading,) = parse_message(
        BASE, "sot/kall/freezer/f1", f'{{"temperature": {payload}}}', NOW
    ).readings
    assert str(reading.value) == "0.0"


@pytest.mark.parametrize(
    "payload", ["yes", "no", "YES", "y", "n", "enabled", "1.0", "\uff2f\uff2e"]
)
def test_booleans_are_the_listed_words_only(payload: str) -> None:
    assert reasons("sot/kall/freezer/f1/door", payload) == [RejectReason.BAD_BOOL]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("sot/kall/generator/main/state", "Running"),
        ("sot/kall/generator/main/state", "RUNNING"),
        ("sot/kall/generator/main/state", "warming-up"),
        ("sot/kall/generator/main/mode", "AUTO"),
        ("sot/kall/generator/main/alarm", "Ok"),
    ],
)
def test_enum_words_are_lower_case(topic: str, payload: str) -> None:
    assert reasons(topic, payload) == [RejectReason.BAD_ENUM]
    assert reasons(topic.rsplit("/", 1)[0], json.dumps({topic.rsplit("/", 1)[1]: payload})) == [
        RejectReason.BAD_ENUM
    ]


@pytest.mark.parametrize("payload", ["OFFLINE", "Online", "on", "0", "offline!", "\u00a0online"])
def test_node_status_is_online_or_offline_in_lower_case(payload: str) -> None:
    parsed = parse_message(BASE, "sot/kall/node/freezers/status", payload, NOW)
    assert parsed.status is None
    assert [r.reason for r in parsed.rejections] == [RejectReason.BAD_ENUM]


def test_an_empty_node_status_clears_the_node() -> None:
    parsed = parse_message(BASE, "sot/kall/node/freezers/status", b"", NOW)
    assert (parsed.status, parsed.cleared_node, parsed.rejections) == (None, "freezers", [])


def test_node_status_may_end_with_a_line_end() -> None:
    parsed = parse_message(BASE, "sot/kall/node/freezers/status", "online\n", NOW)
    assert parsed.status is not None
    assert parsed.status.online


@pytest.mark.parametrize(
    "topic",
    [
        "sot/kall/freezer/f1\n/temperature",
        "sot/kall/freezer/\uff46\uff11/temperature",  # fullwidth f1
        "sot/kall/node/freezers\n/status",
    ],
)
def test_ids_are_ascii_and_end_where_they_end(topic: str) -> None:
    assert reasons(topic, "online" if "node" in topic else "-18") == [RejectReason.BAD_ID]


def test_json_numbers_may_use_json_syntax_and_strings_the_plain_one() -> None:
    parsed = parse_message(BASE, "sot/kall/tank/main", '{"volume": 1.2e3, "level": "64.5"}', NOW)
    assert {r.quantity: r.value for r in parsed.readings} == {"volume": 1200.0, "level": 64.5}
    assert reasons("sot/kall/tank/main", '{"level": "6.45e1"}') == [RejectReason.NOT_A_NUMBER]
    assert reasons("sot/kall/tank/main", '{"level": "+64"}') == [RejectReason.NOT_A_NUMBER]


def test_a_refused_value_names_its_quantity() -> None:
    parsed = parse_message(BASE, "sot/kall/freezer/f1/temperature", "85", NOW)
    assert parsed.rejections[0].quantity == ("freezer", "f1", "temperature")
    assert "no reading" in parsed.rejections[0].detail


def test_node_status_and_ignored_node_topics() -> None:
    parsed = parse_message(BASE, "sot/kall/node/freezers/status", "offline", NOW)
    assert parsed.status is not None
    assert (parsed.status.node, parsed.status.online) == ("freezers", False)
    # ESPHome's own diagnostics under the node prefix are neither readings nor errors.
    quiet = parse_message(BASE, "sot/kall/node/freezers/debug", "boot", NOW)
    assert quiet.readings == []
    assert quiet.rejections == []
    assert quiet.status is None


def test_commands_on_the_bus_are_not_readings() -> None:
    parsed = parse_message(BASE, "sot/kall/load/heater/set", "OFF", NOW)
    assert parsed.readings == []
    assert parsed.rejections == []


def test_meta_with_settings_and_bad_settings() -> None:
    payload = json.dumps(
        {
            "name": " Frysbox 1 ",
            "node": "freezers",
            "warning": -16,
            "critical": "cold",
            "rating": 50,
        }
    )
    parsed = parse_message(BASE, "sot/kall/freezer/f1/meta", payload, NOW)
    assert parsed.meta is not None
    assert parsed.meta.name == "Frysbox 1"
    assert parsed.meta.node == "freezers"
    assert parsed.meta.settings == {"warning": -16.0}  # rating is not a freezer setting
    assert [r.reason for r in parsed.rejections] == [RejectReason.BAD_SETTING]


def test_meta_with_bad_name_and_node_keeps_the_rest() -> None:
    payload = json.dumps({"name": 5, "node": "Not An Id", "capacity": 1200})
    parsed = parse_message(BASE, "sot/kall/tank/main/meta", payload, NOW)
    assert parsed.meta is not None
    assert (parsed.meta.name, parsed.meta.node, parsed.meta.settings) == (
        None,
        None,
        {"capacity": 1200.0},
    )
    assert [r.reason for r in parsed.rejections] == [RejectReason.WRONG_TYPE, RejectReason.BAD_ID]


def test_empty_meta_clears_it_and_bad_meta_is_refused() -> None:
    cleared = parse_message(BASE, "sot/kall/tank/main/meta", b"", NOW)
    assert cleared.meta is not None
    assert cleared.meta.settings == {}
    assert reasons("sot/kall/tank/main/meta", "[]") == [RejectReason.WRONG_TYPE]


def test_a_command_topic_is_only_a_loads() -> None:
    """`…/set` is a command on a load (ours, or another controller's): not a reading, not a
    refusal. On any other kind it is outside the contract, and refused like any such topic."""
    assert reasons("sot/kall/load/heater/set", "ON") == []
    assert reasons("sot/kall/grid/main/set", "ON") == [RejectReason.UNKNOWN_QUANTITY]
    assert reasons("sot/kall/freezer/f1/set", '{"state": "OFF"}') == [RejectReason.UNKNOWN_QUANTITY]


def test_subscription_and_load_commands() -> None:
    assert subscription(BASE) == "sot/kall/#"
    on, off = Command("load", "heater", "turn_on"), Command("load", "heater", "turn_off")
    assert command_topic(BASE, on) == "sot/kall/load/heater/set"
    assert (command_payload(on), command_payload(off)) == ("ON", "OFF")
    # With its expiry: whole Unix seconds, rounded up, for a relay's clock to compare.
    expires = datetime(2026, 11, 22, 11, 0, 10, 250_000, tzinfo=UTC)
    assert json.loads(command_payload(off, expires)) == {
        "state": "OFF",
        "expires": int(expires.timestamp()) + 1,
    }
    assert command_payload(on, expires) == '{"state":"ON","expires":1795345211}'


@pytest.mark.parametrize(
    ("topic", "site"),
    [
        ("sot/kall/node/freezers/status", "kall"),
        ("sot/valsjobyn/node/gw/status", "valsjobyn"),
        ("sot/kall/node/freezers/debug", None),
        ("other/kall/node/freezers/status", None),
        ("sot/Kall!/node/freezers/status", None),
    ],
)
def test_site_from_status_topic(topic: str, site: str | None) -> None:
    assert site_from_status_topic(topic) == site


# -- what the site offers: station products, network devices, rooms, `provides` ------------


@pytest.mark.parametrize(
    ("topic", "payload", "value"),
    [
        ("sot/kall/station/diesel/volume", "8450", 8450.0),
        ("sot/kall/station/petrol95/level", "41.5", 41.5),
        ("sot/kall/station/hvo/ullage", "1550.5", 1550.5),
        ("sot/kall/station/diesel/pump", "ON", True),
        ("sot/kall/station/adblue/available", "off", False),
        ("sot/kall/network/router/online", "true", True),
        ("sot/kall/network/modem/signal", "-87", -87.0),
        ("sot/kall/room/warm/temperature", "19.5", 19.5),
    ],
)
def test_offer_kinds_plain_payloads(topic: str, payload: str, value: object) -> None:
    parsed = parse_message(BASE, topic, payload, NOW)
    assert parsed.rejections == []
    assert [(r.kind, r.id, r.quantity, r.value) for r in parsed.readings] == [
        (*tuple(topic.split("/")[2:]), value)
    ]


def test_a_station_product_as_one_object() -> None:
    payload = '{"volume": 8450, "ullage": 1550, "pump": true, "available": "ON", "ts": 1795341600}'
    parsed = parse_message(BASE, "sot/kall/station/diesel", payload, NOW)
    assert parsed.rejections == []
    assert {r.quantity: r.value for r in parsed.readings} == {
        "volume": 8450.0,
        "ullage": 1550.0,
        "pump": True,
        "available": True,
    }


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("sot/kall/station/diesel/volume", "-1", RejectReason.OUT_OF_RANGE),
        ("sot/kall/station/diesel/volume", "1000001", RejectReason.OUT_OF_RANGE),
        ("sot/kall/station/diesel/volume", "8 450", RejectReason.NOT_A_NUMBER),
        ("sot/kall/station/diesel/volume", "8450,5", RejectReason.NOT_A_NUMBER),
        ("sot/kall/station/diesel/level", "101", RejectReason.OUT_OF_RANGE),
        ("sot/kall/station/diesel/ullage", "nan", RejectReason.NOT_FINITE),
        ("sot/kall/station/diesel/pump", "yes", RejectReason.BAD_BOOL),
        ("sot/kall/station/diesel/available", "2", RejectReason.BAD_BOOL),
        ("sot/kall/station/diesel/price", "21.9", RejectReason.UNKNOWN_QUANTITY),
        ("sot/kall/station/Diesel/volume", "8450", RejectReason.BAD_ID),
        ("sot/kall/station/diesel", '{"volume": "full"}', RejectReason.NOT_A_NUMBER),
        ("sot/kall/station/diesel", '{"pump": 1}', RejectReason.WRONG_TYPE),
        ("sot/kall/network/router/online", "up", RejectReason.BAD_BOOL),
        ("sot/kall/network/router/signal", "12", RejectReason.OUT_OF_RANGE),
        ("sot/kall/network/router/signal", "-151", RejectReason.OUT_OF_RANGE),
        ("sot/kall/room/warm/temperature", "61", RejectReason.OUT_OF_RANGE),
        ("sot/kall/room/warm/humidity", "40", RejectReason.UNKNOWN_QUANTITY),
        ("sot/kall/service/food/state", "open", RejectReason.UNKNOWN_KIND),
    ],
)
def test_offer_kinds_refuse_bad_input(topic: str, payload: str, reason: RejectReason) -> None:
    assert reasons(topic, payload) == [reason]


@pytest.mark.parametrize(
    ("payload", "provides", "refused"),
    [
        ({"provides": "card_payment"}, ("card_payment",), []),
        ({"provides": ["food", "cash", "food"]}, ("food", "cash"), []),
        ({"provides": []}, (), []),
        ({"provides": "petrol"}, (), [RejectReason.BAD_SETTING]),
        ({"provides": ["food", "sauna"]}, (), [RejectReason.BAD_SETTING]),
        ({"provides": ["food"] * 7}, (), [RejectReason.BAD_SETTING]),
        ({"provides": {"food": True}}, (), [RejectReason.BAD_SETTING]),
        ({"provides": 1}, (), [RejectReason.BAD_SETTING]),
        ({"name": "Router"}, (), []),
    ],
)
def test_meta_provides(
    payload: dict[str, object], provides: tuple[str, ...], refused: list[RejectReason]
) -> None:
    parsed = parse_message(
        BASE, "sot/kall/network/router/meta", json.dumps({"node": "net", **payload}), NOW
    )
    assert parsed.meta is not None
    assert parsed.meta.provides == provides
    assert parsed.meta.node == "net"  # the rest of the meta is kept
    assert [r.reason for r in parsed.rejections] == refused


def test_station_and_room_settings_in_a_meta() -> None:
    payload = json.dumps({"name": "Diesel", "capacity": 10000, "reserve": 2000, "minimum": 15})
    parsed = parse_message(BASE, "sot/kall/station/diesel/meta", payload, NOW)
    assert parsed.meta is not None
    assert parsed.meta.settings == {"capacity": 10000.0, "reserve": 2000.0}
    bad = json.dumps({"capacity": 0, "reserve": -5})
    assert reasons("sot/kall/station/diesel/meta", bad) == [RejectReason.BAD_SETTING] * 2
    parsed = parse_message(BASE, "sot/kall/room/warm/meta", '{"minimum": 16}', NOW)
    assert parsed.meta is not None
    assert parsed.meta.settings == {"minimum": 16.0}
    assert reasons("sot/kall/room/warm/meta", '{"minimum": 30}') == [RejectReason.BAD_SETTING]


def test_the_sites_own_public_summary_is_not_a_reading() -> None:
    parsed = parse_message(BASE, "sot/kall/public", '{"status": "open"}', NOW)
    assert (parsed.readings, parsed.rejections, parsed.meta) == ([], [], None)
    assert reasons("sot/kall/public/extra", "x") == [RejectReason.UNKNOWN_KIND]
