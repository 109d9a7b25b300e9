"""Config, discovery, reconfigure and options flows: every step and every abort."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_MQTT, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.const import (
    CONF_BASE_TOPIC,
    CONF_FREEZER_CRITICAL,
    CONF_FREEZER_WARNING,
    CONF_SITE_ID,
    DEFAULT_OPTIONS,
    DOMAIN,
)

from .helpers import site_entry


@pytest.fixture
def mqtt_entry(hass: HomeAssistant) -> Iterator[MockConfigEntry]:
    """An MQTT integration entry (the flows only check that one exists).

    Setting a site up sets MQTT up first (a dependency); this entry then loads without
    connecting. A real setup would try the broker (HA 2026.7+ first tries a protocol-5
    connection), and the test plugin from 0.13.375 fails any test that tries to open a socket.
    """
    entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1"})
    entry.add_to_hass(hass)
    with (
        patch("homeassistant.components.mqtt.async_setup_entry", return_value=True),
        patch("homeassistant.components.mqtt.async_unload_entry", return_value=True),
    ):
        yield entry


@pytest.fixture(autouse=True)
def setup_entry() -> Iterator[AsyncMock]:
    """Flows are tested on their own; setting a site up is tested with a real broker."""
    with patch("custom_components.sot.async_setup_entry", return_value=True) as mock:
        yield mock


def discovery(topic: str, payload: str = "online") -> MqttServiceInfo:
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=0,
        retain=True,
        subscribed_topic="sot/+/node/+/status",
        timestamp=0,
    )


async def test_user_step_creates_a_site(hass: HomeAssistant, mqtt_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall", CONF_SITE_ID: "Kall "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Kall"
    assert result["data"] == {CONF_SITE_ID: "kall", CONF_BASE_TOPIC: "sot/kall"}
    assert result["options"] == DEFAULT_OPTIONS
    assert result["result"].unique_id == "kall"


async def test_user_step_with_own_base_topic(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Hallen", CONF_SITE_ID: "hallen", CONF_BASE_TOPIC: "county/jamtland/hallen"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_TOPIC] == "county/jamtland/hallen"


async def test_user_step_refuses_bad_id_and_topic(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Kall", CONF_SITE_ID: "kall village", CONF_BASE_TOPIC: "sot/+/kall"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SITE_ID: "invalid_site_id", CONF_BASE_TOPIC: "invalid_topic"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "", CONF_SITE_ID: "kall", CONF_BASE_TOPIC: "sot/kall/"}
    )
    assert result["errors"] == {CONF_BASE_TOPIC: "invalid_topic"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "", CONF_SITE_ID: "kall"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "kall"  # a site needs a name; its id will do


async def test_no_two_sites_take_in_the_same_topic(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    """A base topic another site has, lies under or holds would give every entity, alarm and
    command twice: refused when adding, when moving a site, and not offered by discovery."""
    site_entry().add_to_hass(hass)  # kall on sot/kall
    for number, taken in enumerate(("sot/kall", "sot/kall/school", "sot")):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"name": "X", CONF_SITE_ID: f"x{number}", CONF_BASE_TOPIC: taken}
        )
        assert result["type"] is FlowResultType.FORM, taken
        assert result["errors"] == {CONF_BASE_TOPIC: "topic_in_use"}, taken
    # A topic that only starts with the same letters is another site's.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kallby", CONF_SITE_ID: "kallby"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_TOPIC] == "sot/kallby"

    # Hallen moved onto Kall's topic: refused; onto a free one: done.
    hallen = site_entry("hallen", "Hallen")
    hallen.add_to_hass(hass)
    result = await hallen.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Hallen", CONF_BASE_TOPIC: "sot/kall"}
    )
    assert result["errors"] == {CONF_BASE_TOPIC: "topic_in_use"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Hallen", CONF_BASE_TOPIC: "sot/hallen"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"

    # Kall moved to sot/skola: a node of site "skola" is Kall's, not a new site.
    kall = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "kall")
    assert kall is not None
    hass.config_entries.async_update_entry(kall, data={**kall.data, CONF_BASE_TOPIC: "sot/skola"})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/skola/node/gateway/status")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_step_aborts_without_mqtt(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_user_step_aborts_for_a_site_already_set_up(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    site_entry().add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall 2", CONF_SITE_ID: "kall"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_mqtt_discovery_offers_the_site(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/valsjobyn/node/gateway/status")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {"site_id": "valsjobyn"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Valsjöbyn"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Valsjöbyn"
    assert result["data"] == {CONF_SITE_ID: "valsjobyn", CONF_BASE_TOPIC: "sot/valsjobyn"}


async def test_mqtt_discovery_of_a_second_node_of_the_same_site(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    first = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/hallen/node/freezers/status")
    )
    assert first["type"] is FlowResultType.FORM
    second = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/hallen/node/tank/status")
    )
    assert second["type"] is FlowResultType.ABORT
    assert second["reason"] == "already_in_progress"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("sot/kall/node/freezers/status", "online", "already_configured"),
        ("sot/node/status", "online", "invalid_discovery_info"),
        # An empty retained status clears a removed node of a site not set up here.
        ("sot/hallen/node/tank/status", "", "node_cleared"),
        # The site takes blank as a cleared status, and refuses anything but online/offline.
        ("sot/hallen/node/tank/status", " \r\n", "node_cleared"),
        ("sot/hallen/node/tank/status", "hello", "not_a_status"),
        ("sot/hallen/node/tank/status", "Online", "not_a_status"),
        # What the site would refuse as `bad_id` or `oversized`: no node said hello.
        ("sot/hallen/node/Tank/status", "online", "invalid_discovery_info"),
        ("sot/hallen/node/tank/status", "online" + " " * 64, "not_a_status"),
    ],
)
async def test_mqtt_discovery_aborts(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, topic: str, payload: str, reason: str
) -> None:
    site_entry().add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(topic, payload)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_mqtt_discovery_confirm_aborts_when_mqtt_went_away(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/hallen/node/freezers/status")
    )
    await hass.config_entries.async_remove(mqtt_entry.entry_id)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": "Hallen"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_reconfigure_renames_and_moves_the_site(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    entry = site_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall", CONF_BASE_TOPIC: "bad topic"}
    )
    assert result["errors"] == {CONF_BASE_TOPIC: "invalid_topic"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall skola", CONF_BASE_TOPIC: "county/kall"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Kall skola"
    assert entry.data == {CONF_SITE_ID: "kall", CONF_BASE_TOPIC: "county/kall"}


async def test_reconfigure_keeps_the_topic_when_left_empty(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    entry = site_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": " "})
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Kall"
    assert entry.data[CONF_BASE_TOPIC] == "sot/kall"


async def test_options_flow_saves_settings_and_checks_limits(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    entry = site_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    wanted = {**DEFAULT_OPTIONS, CONF_FREEZER_WARNING: -12.0, CONF_FREEZER_CRITICAL: -15.0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], wanted)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_FREEZER_CRITICAL: "critical_not_above_warning"}
    wanted = {**DEFAULT_OPTIONS, "tank_capacity": 1200.0, "generator_rating": 56.0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], wanted)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["tank_capacity"] == 1200.0


# Each number setting's range as docs/integration.md gives it.
DOCUMENTED_RANGES = {
    "tank_capacity": (1, 100000),
    "tank_reserve": (0, 90),
    "generator_rating": (1, 5000),
    "freezer_warning": (-40, -0.5),
    "alarm_delay": (0, 240),
    "room_temperature": (-30, 40),
    "stale_timeout": (30, 86400),
    "fuel_low_hours": (0, 240),
    "silent_after": (5, 10080),
    "grid_voltage": (100, 230),
    "readiness_fuel_hours": (0, 720),
    "service_due_hours": (0, 100000),
}


@pytest.mark.parametrize("key", list(DOCUMENTED_RANGES))
async def test_options_flow_takes_each_documented_range_and_refuses_beyond_it(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, key: str
) -> None:
    """The ends of a setting's range are taken; a step beyond either is refused, and the
    settings already saved stay."""
    entry = site_entry()
    entry.add_to_hass(hass)
    low, high = DOCUMENTED_RANGES[key]
    for wrong in (low - 1, high + 1):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(
                result["flow_id"], {**DEFAULT_OPTIONS, key: wrong}
            )
        assert entry.options == DEFAULT_OPTIONS
    for right in (low, high):
        # A warning limit needs a critical limit above it: none is above −0.5 °C.
        critical = {"freezer_critical": -0.5} if key == "freezer_warning" else {}
        if critical and right == high:
            continue
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**DEFAULT_OPTIONS, **critical, key: right}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert entry.options[key] == right


async def test_a_discovered_site_is_not_added_onto_a_topic_taken_meanwhile(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    """The offer of site kall waits in the list while kall's topic is given to a site added by
    hand: confirming the offer then would make two sites take in the same messages."""
    offer = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/kall/node/gateway/status")
    )
    assert offer["step_id"] == "discovery_confirm"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Kall skola", CONF_SITE_ID: "skola", CONF_BASE_TOPIC: "sot/kall"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    result = await hass.config_entries.flow.async_configure(offer["flow_id"], {"name": "Kall"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert [entry.unique_id for entry in hass.config_entries.async_entries(DOMAIN)] == ["skola"]


async def test_a_site_offered_by_discovery_can_be_added_by_hand(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    """Adding by hand the site discovery offers adds it (with the name and topic typed), and
    the offer goes; it is not refused as "already being set up"."""
    offer = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/kall/node/gateway/status")
    )
    assert offer["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall", CONF_SITE_ID: "kall"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "kall"
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []


async def test_an_ignored_site_is_not_offered_again_but_can_be_added_by_hand(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    offer = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/kall/node/gateway/status")
    )
    assert offer["type"] is FlowResultType.FORM
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": "kall", "title": "kall"},
    )
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []
    # Another node of the ignored site says hello: no new offer.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery("sot/kall/node/tank/status")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # Added by hand it replaces the ignored entry.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall", CONF_SITE_ID: "kall"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (entry,) = hass.config_entries.async_entries(DOMAIN, include_ignore=True)
    assert (entry.source, entry.title) == (SOURCE_USER, "Kall")


async def test_reconfigure_refused_shows_what_was_typed(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    """A refused base topic is shown again as typed, with the new name, so the user can see
    and mend it rather than find the old values back in the form."""
    entry = site_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall skola", CONF_BASE_TOPIC: "county/kall/#"}
    )
    assert result["errors"] == {CONF_BASE_TOPIC: "invalid_topic"}
    shown = {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }
    assert shown == {"name": "Kall skola", CONF_BASE_TOPIC: "county/kall/#"}
    assert entry.title == "Kall"
    assert entry.data[CONF_BASE_TOPIC] == "sot/kall"


async def test_a_bad_site_id_is_not_blamed_on_a_base_topic_left_empty(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    """Only the site id is wrong: the empty base topic field carries no error of its own."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall by", CONF_SITE_ID: "kall by"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SITE_ID: "invalid_site_id"}
