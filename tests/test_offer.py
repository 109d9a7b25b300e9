"""What the site offers, in a running Home Assistant against a real broker: the services and
fuel-for-sale entities, the public message, and the public summary on `sot/<site>/public`."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.config_entries import ConfigEntryDisabler
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sot import async_remove_entry
from custom_components.sot.const import DOMAIN, STORAGE_VERSION
from custom_components.sot.coordinator import SiteCoordinator
from custom_components.sot.offer_entities import product_status
from custom_components.sot.public_topic import RETAINED_WAIT

from .helpers import site_entry, start_site, wait_for, wait_for_state

SERVICES = {
    "load/store": {"node": "relays", "provides": ["food", "cash"]},
    "load/heater": {"node": "relays", "provides": "warm_room"},
    "network/terminal": {"name": "Kortterminal", "provides": "card_payment"},
    "room/warm": {"provides": "warm_room"},
    "station/diesel": {"name": "Diesel", "capacity": 10000, "reserve": 2000},
    "station/petrol95": {"capacity": 10000},
}


async def open_on_the_grid(field: aiomqtt.Client) -> None:
    """Kall on the grid with its store, heater, card terminal, warm room and two products."""
    for component, meta in SERVICES.items():
        await field.publish(f"sot/kall/{component}/meta", json.dumps(meta), qos=1)
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/load/store/state", "ON")
    await field.publish("sot/kall/load/heater/state", "ON")
    await field.publish("sot/kall/network/terminal/online", "ON")
    await field.publish("sot/kall/room/warm/temperature", "19.5")
    await field.publish(
        "sot/kall/station/diesel", json.dumps({"volume": 8450, "ullage": 1550, "pump": True})
    )
    await field.publish("sot/kall/station/petrol95", json.dumps({"volume": 3000, "pump": True}))


async def test_services_and_fuel_for_sale_entities(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    coordinator = await start_site(mqtt_hass, field, site_entry())
    await open_on_the_grid(field)
    summary = await wait_for_state(mqtt_hass, "sensor.kall_services", "open")
    await wait_for(
        mqtt_hass,
        lambda: "petrol 95" in str(attributes(mqtt_hass, "sensor.kall_services")["summary"]),
        "both products in the summary",
    )
    summary = mqtt_hass.states.get("sensor.kall_services")  # type: ignore[assignment]
    assert summary.attributes["summary"] == (
        "Open: food, Diesel, petrol 95, card payment, cash, warm room"
    )
    assert summary.attributes["power"] == "grid"
    assert summary.attributes["open"] == ["food", "fuel", "card_payment", "cash", "warm_room"]
    for entity_id in (
        "sensor.kall_food",
        "sensor.kall_fuel_for_sale",
        "sensor.kall_card_payment",
        "sensor.kall_cash",
        "sensor.kall_warm_room",
    ):
        await wait_for_state(mqtt_hass, entity_id, "open")
    assert mqtt_hass.states.get("sensor.kall_communications") is None  # nothing provides it

    # One product's figures.
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_volume", "8450.0")
    assert state(mqtt_hass, "sensor.kall_station_diesel_ullage") == "1550.0"
    assert state(mqtt_hass, "sensor.kall_station_diesel_for_sale") == "6450"
    assert state(mqtt_hass, "sensor.kall_station_diesel_sold_this_outage") == "0.0"
    assert state(mqtt_hass, "sensor.kall_station_diesel_status") == "open"
    assert state(mqtt_hass, "binary_sensor.kall_station_diesel_pump") == "on"
    assert state(mqtt_hass, "binary_sensor.kall_network_terminal_online") == "on"
    assert state(mqtt_hass, "sensor.kall_room_warm_temperature") == "19.5"
    products = attributes(mqtt_hass, "sensor.kall_fuel_for_sale")["products"]
    assert products["diesel"]["for_sale"] == 6450
    assert products["petrol95"]["name"] == "petrol 95"

    # The grid goes and nothing takes over: closed, with the reason; litres sold are counted.
    await field.publish("sot/kall/grid/main/present", "OFF")
    await field.publish("sot/kall/station/diesel/volume", "8000")
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_sold_this_outage", "450.0")
    await field.publish("sot/kall/network/terminal/online", "OFF")
    # The warm room stays open while it is warm (the heater has no power, the room cools).
    await wait_for_state(mqtt_hass, "sensor.kall_services", "limited")
    assert state(mqtt_hass, "sensor.kall_warm_room") == "open"
    await field.publish("sot/kall/room/warm/temperature", "12.5")
    # The pumps say they have lost their power (a station may have its own supply).
    await wait_for_state(mqtt_hass, "sensor.kall_services", "limited")
    assert state(mqtt_hass, "sensor.kall_fuel_for_sale") == "open"
    await field.publish("sot/kall/station/diesel/pump", "OFF")
    await field.publish("sot/kall/station/petrol95/pump", "OFF")
    await wait_for_state(mqtt_hass, "sensor.kall_services", "closed")
    assert attributes(mqtt_hass, "sensor.kall_services")["summary"] == "Closed: no power"
    food = attributes(mqtt_hass, "sensor.kall_food")
    assert (food["reason"], food["reasons"]) == ("no power", ["no_power"])
    await wait_for_state(mqtt_hass, "sensor.kall_card_payment", "closed")
    assert attributes(mqtt_hass, "sensor.kall_card_payment")["reason"] == "Kortterminal offline"

    # A service declared later gets its entity without a reload.
    await field.publish("sot/kall/network/router/meta", json.dumps({"provides": "communications"}))
    await field.publish("sot/kall/network/router/online", "ON")
    await wait_for_state(mqtt_hass, "sensor.kall_communications", "open")
    assert coordinator.rejected == {}


async def test_a_cold_room_nothing_heats_is_a_closed_warm_room(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Two warm rooms with thermometers and no heater declared, in a storm. While one is warm
    the warm room is limited (there is somewhere warm to go); both at 12 °C and nothing to
    warm them, it is closed, as for a heater that is off: a villager must not drive out to
    a cold room on the word limited."""
    await start_site(mqtt_hass, field, site_entry())
    for room, name in (("school", "Skolan"), ("hall", "Bygdegården")):
        meta = {"name": name, "provides": "warm_room"}
        await field.publish(f"sot/kall/room/{room}/meta", json.dumps(meta), qos=1)
    await field.publish("sot/kall/grid/main/present", "OFF")
    await field.publish("sot/kall/room/school/temperature", "20.0")
    await field.publish("sot/kall/room/hall/temperature", "19.0")
    await wait_for_state(mqtt_hass, "sensor.kall_warm_room", "open")
    await field.publish("sot/kall/room/hall/temperature", "12.0")
    await wait_for_state(mqtt_hass, "sensor.kall_warm_room", "limited")
    await field.publish("sot/kall/room/school/temperature", "12.0")
    await wait_for_state(mqtt_hass, "sensor.kall_warm_room", "closed")
    found = attributes(mqtt_hass, "sensor.kall_warm_room")
    assert found["reasons"] == ["room_cold", "room_cold"]
    assert found["reason"] == "Bygdegården only 12 °C, Skolan only 12 °C"


async def test_bad_input_for_the_new_kinds_is_refused_and_counted(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    coordinator = await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/station/diesel/volume", "8450")
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_volume", "8450.0")
    for topic, payload in (
        ("sot/kall/station/diesel/volume", "-5"),
        ("sot/kall/station/diesel/volume", "lots"),
        ("sot/kall/station/diesel/pump", "maybe"),
        ("sot/kall/network/router/signal", "5"),
        ("sot/kall/room/warm/temperature", "nan"),
        ("sot/kall/network/router/meta", '{"provides": "sauna"}'),
    ):
        await field.publish(topic, payload)
    await wait_for(mqtt_hass, lambda: sum(coordinator.rejected.values()) == 6, "six refusals")
    assert coordinator.rejected == {
        "out_of_range": 2,
        "not_a_number": 1,
        "bad_bool": 1,
        "not_finite": 1,
        "bad_setting": 1,
    }
    assert state(mqtt_hass, "sensor.kall_station_diesel_volume") == "8450.0"


async def test_the_public_summary_on_its_topic(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, broker_port: int
) -> None:
    """Retained, QoS 1, only when it changes; no litres while the site is closed."""
    entry = site_entry()
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    try:
        await open_on_the_grid(field)
        content = await next_summary(field, lambda c: c["status"] == "open" and len(c["fuel"]) == 2)
        assert content["site"] == "kall"
        assert content["name"] == "Kall"
        assert content["power"] == "grid"
        assert content["fuel"] == [
            {"product": "diesel", "name": "Diesel", "status": "open", "litres": 6400},
            {"product": "petrol95", "name": "bensin 95", "status": "open", "litres": 2000},
        ]
        assert content["text"]["sv"] == (
            "Öppet: livsmedel, Diesel, bensin 95, kortbetalning, kontanter, värmestuga"
        )
        assert content["message"] is None
        assert "since" in content

        # The same situation again publishes nothing: the next summary is the message's.
        await field.publish("sot/kall/load/store/state", "ON")
        await field.publish("sot/kall/station/diesel/volume", "8440")
        await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_volume", "8440.0")
        await mqtt_hass.async_block_till_done()

        # The operator's message.
        await mqtt_hass.services.async_call(
            "text",
            "set_value",
            {ATTR_ENTITY_ID: "text.kall_public_message", "value": "Öppet till 20 i kväll."},
            blocking=True,
        )
        content = await next_summary(field, lambda _: True)
        assert content["message"] == "Öppet till 20 i kväll."
        assert state(mqtt_hass, "text.kall_public_message") == "Öppet till 20 i kväll."

        # Closed: the litres go, the products stay.
        await field.publish("sot/kall/grid/main/present", "OFF")
        await field.publish("sot/kall/network/terminal/online", "OFF")
        await field.publish("sot/kall/room/warm/temperature", "12")
        await field.publish("sot/kall/station/diesel/pump", "OFF")
        await field.publish("sot/kall/station/petrol95/pump", "OFF")
        content = await next_summary(field, lambda c: c["status"] == "closed")
        assert content["power"] == "none"
        assert content["text"]["en"] == "Closed: no power"
        assert content["fuel"] == [
            {"product": "diesel", "name": "Diesel", "status": "closed"},
            {"product": "petrol95", "name": "bensin 95", "status": "closed"},
        ]
        assert "litres" not in json.dumps(content)
        assert content["message"] == "Öppet till 20 i kväll."

        # A display that connects later gets the last summary, retained.
        async with aiomqtt.Client("127.0.0.1", broker_port, identifier="display") as display:
            await display.subscribe("sot/kall/public", qos=1)
            async with asyncio.timeout(10):
                async for message in display.messages:
                    assert message.retain
                    assert json.loads(message.payload)["status"] == "closed"  # type: ignore[arg-type]
                    break
    finally:
        await field.publish("sot/kall/public", b"", retain=True)


async def test_the_public_message_survives_a_reload(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    await mqtt_hass.services.async_call(
        "text",
        "set_value",
        {ATTR_ENTITY_ID: "text.kall_public_message", "value": "  Kaffe i skolan  "},
        blocking=True,
    )
    assert state(mqtt_hass, "text.kall_public_message") == "Kaffe i skolan"
    # When it was put up, for the display: a message from yesterday must read as yesterday's.
    put_up = attributes(mqtt_hass, "text.kall_public_message")["time"]
    assert abs(dt_util.parse_datetime(put_up) - dt_util.utcnow()) < timedelta(minutes=1)  # type: ignore[operator]
    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    await wait_for_state(mqtt_hass, "text.kall_public_message", "Kaffe i skolan")
    assert attributes(mqtt_hass, "text.kall_public_message")["time"] == put_up
    await mqtt_hass.services.async_call(
        "text",
        "set_value",
        {ATTR_ENTITY_ID: "text.kall_public_message", "value": ""},
        blocking=True,
    )
    assert state(mqtt_hass, "text.kall_public_message") == ""
    assert "time" not in attributes(mqtt_hass, "text.kall_public_message")


async def test_the_summary_keeps_its_since_across_a_reload_and_is_checked_again(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, broker_port: int
) -> None:
    """`since` is when the content was first published, not when Home Assistant last
    started; `checked` moves on every ten minutes, so a display can tell a summary Home
    Assistant still stands behind from one a stopped Home Assistant left."""
    entry = site_entry()
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    try:
        await open_on_the_grid(field)
        first = await next_summary(field, lambda c: c["status"] == "open" and len(c["fuel"]) == 2)
        assert first["checked"] >= first["since"]
        await asyncio.sleep(1.1)  # a second later: a new `since` would show
        assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
        await mqtt_hass.async_block_till_done()
        await open_on_the_grid(field)
        again = await next_summary(field, lambda c: c["status"] == "open" and len(c["fuel"]) == 2)
        assert again["since"] == first["since"]
        assert again["checked"] > first["checked"]

        await mqtt_hass.async_block_till_done()
        async_fire_time_changed(mqtt_hass, dt_util.utcnow() + timedelta(minutes=11))
        refreshed = await next_summary(field, lambda _: True)
        assert refreshed["since"] == first["since"]
        assert {k: v for k, v in refreshed.items() if k != "checked"} == {
            k: v for k, v in again.items() if k != "checked"
        }
    finally:
        await field.publish("sot/kall/public", b"", retain=True)


async def test_back_after_a_long_stop_the_summary_waits_for_the_nodes_and_keeps_its_since(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Home Assistant back after 10 minutes (a power cut): every restored reading is stale, so
    the site cannot be told until its nodes speak. The summary a previous run left stays
    meanwhile (no "cannot be told" flash on the displays), and once the nodes say the same
    again it keeps its `since`."""
    entry = site_entry()
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    try:
        await open_on_the_grid(field)
        first = await next_summary(field, lambda c: c["status"] == "open" and len(c["fuel"]) == 2)
        real_now = SiteCoordinator.now
        later = timedelta(minutes=10)
        with patch.object(SiteCoordinator, "now", lambda self: real_now(self) + later):
            assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
            await mqtt_hass.async_block_till_done()
            await asyncio.sleep(RETAINED_WAIT + 0.5)  # past the first publish's wait
            await mqtt_hass.async_block_till_done()
            await open_on_the_grid(field)
            after = await next_summary(field, lambda _: True)
        assert after["status"] == "open"
        assert after["since"] == first["since"]
        assert after["checked"] > first["checked"]
    finally:
        await field.publish("sot/kall/public", b"", retain=True)


async def test_a_deleted_site_takes_its_summary_off_the_broker(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, broker_port: int
) -> None:
    entry = site_entry()
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    await open_on_the_grid(field)
    await next_summary(field, lambda c: c["status"] == "open")
    assert await mqtt_hass.config_entries.async_remove(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    # A display that connects now finds nothing retained: no "open" from a site that is gone.
    await nothing_retained_on(broker_port, "sot/kall/public")


async def test_a_site_deleted_without_mqtt_still_takes_its_saved_state(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """MQTT not set up (its entry disabled, say): the summary cannot be cleared, and says so;
    the saved state and cold-chain records go all the same."""
    entry = site_entry()
    entry.add_to_hass(hass)
    saved = Store[dict[str, Any]](hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}")
    await saved.async_save({"kept": True})
    await async_remove_entry(hass, entry)
    assert await saved.async_load() is None
    assert "MQTT is not connected; sot/kall/public stays on the broker" in caplog.text


async def nothing_retained_on(broker_port: int, topic: str) -> None:
    """A display connecting now gets nothing retained on `topic`: the first message it gets
    is a marker it sends itself after subscribing."""
    marker = "sot/kall/node/marker/status"
    async with aiomqtt.Client("127.0.0.1", broker_port, identifier="display") as display:
        await display.subscribe(topic, qos=1)
        await display.subscribe(marker, qos=1)
        await display.publish(marker, "x", qos=1)
        async with asyncio.timeout(10):
            async for message in display.messages:
                assert message.topic.matches(marker), message.payload
                break


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None, f"{entity_id} does not exist"
    return found.state


def attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    found = hass.states.get(entity_id)
    assert found is not None, f"{entity_id} does not exist"
    return dict(found.attributes)


async def next_summary(field: aiomqtt.Client, wanted: Any) -> dict[str, Any]:
    """The next summary on `sot/kall/public` that satisfies `wanted`, retained with QoS 1."""
    async with asyncio.timeout(10):
        async for message in field.messages:
            if not message.topic.matches("sot/kall/public") or not message.payload:
                continue
            assert isinstance(message.payload, bytes)
            content: dict[str, Any] = json.loads(message.payload)
            if wanted(content):
                assert message.qos == 1
                return content
    raise AssertionError("no such summary")


async def test_a_service_no_longer_provided_shows_unknown(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    coordinator = await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/network/router/meta", json.dumps({"provides": "communications"}))
    await field.publish("sot/kall/network/router/online", "ON")
    await wait_for_state(mqtt_hass, "sensor.kall_communications", "open")
    await field.publish("sot/kall/network/router/meta", b"")
    await field.publish("sot/kall/network/router/online", "ON")
    await wait_for_state(mqtt_hass, "sensor.kall_communications", "unknown")
    assert "reason" not in attributes(mqtt_hass, "sensor.kall_communications")
    # A component that is no product has no sale to show.
    router = coordinator.site.component("network", "router")
    assert product_status(coordinator.site, router, dt_util.utcnow()) is None


async def test_a_summary_the_broker_refuses_is_sent_with_the_next_change(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, caplog: pytest.LogCaptureFixture
) -> None:
    published: list[str] = []

    async def refuse(hass: HomeAssistant, topic: str, payload: str, **_: Any) -> None:
        if topic != "sot/kall/public":
            return  # (the patch is of Home Assistant's mqtt: the site's settings pass too)
        if not published:
            published.append("refused")
            raise HomeAssistantError("not connected")
        published.append(payload)

    with patch("custom_components.sot.public_topic.mqtt.async_publish", refuse):
        await start_site(mqtt_hass, field, site_entry())
        await wait_for(mqtt_hass, lambda: published == ["refused"], "the refused publish")
        assert "public summary not published: not connected" in caplog.text
        await field.publish("sot/kall/grid/main/present", "ON")
        await wait_for(mqtt_hass, lambda: len(published) == 2, "the next publish")
    assert json.loads(published[1])["power"] == "grid"


@pytest.mark.parametrize("message", [42, True, ["Öppet"], {"sv": "Öppet"}])
async def test_the_county_keeps_its_message_when_a_summary_carries_no_text(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, message: object
) -> None:
    """A site writes its message as a string or `null`; anything else is no message of its, and
    the county keeps showing the one it had rather than `42` or `{'sv': 'Öppet'}`."""
    coordinator = await start_site(mqtt_hass, field, site_entry(county_bridge=True))
    at = "2026-11-28T10:00:00+00:00"
    await field.publish("sot/kall/public", json.dumps({"message": "Öppet", "message_time": at}))
    await wait_for_state(mqtt_hass, "text.kall_public_message", "Öppet")
    received = coordinator.messages
    await field.publish("sot/kall/public", json.dumps({"message": message, "message_time": at}))
    await wait_for(mqtt_hass, lambda: coordinator.messages > received, "the summary to arrive")
    await mqtt_hass.async_block_till_done()
    assert state(mqtt_hass, "text.kall_public_message") == "Öppet"


async def test_a_broker_away_is_logged_once_and_its_return_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker down for a while (restarted, or Home Assistant started before it): every
    change of the summary fails meanwhile. The log says so once, and once when it is sent
    again, not at every change (with Home Assistant started a minute before its broker, one
    every 15 s)."""
    caplog.set_level(logging.INFO, logger="custom_components.sot.public_topic")
    published: list[str] = []
    refusing = True

    async def refuse(hass: HomeAssistant, topic: str, payload: str, **_: Any) -> None:
        if topic != "sot/kall/public":
            return
        if refusing:
            published.append("refused")
            raise HomeAssistantError("not connected")
        published.append(payload)

    with patch("custom_components.sot.public_topic.mqtt.async_publish", refuse):
        await start_site(mqtt_hass, field, site_entry())
        for present in ("ON", "OFF", "ON"):
            tries = len(published)
            await field.publish("sot/kall/grid/main/present", present)
            await wait_for(mqtt_hass, lambda t=tries: len(published) > t, "another attempt")
        refusing = False
        await field.publish("sot/kall/grid/main/present", "OFF")
        await wait_for(mqtt_hass, lambda: published[-1] != "refused", "the summary sent")
    lines = [r for r in caplog.records if "public summary" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("WARNING", "sot/kall/public: public summary not published: not connected"),
        ("INFO", "sot/kall/public: public summary published again"),
    ]


async def test_a_delivery_pumped_in_slowly_is_not_taken_for_sales_undone(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """AdBlue pumped in from an IBC at 40 L a minute, the gauge read every 10 s: each reading
    rises less than 50 L, the delivery as a whole by 1000 L. What was sold stays sold."""
    await start_site(mqtt_hass, field, site_entry())
    start = dt_util.utcnow().timestamp() - 3600

    async def reading(topic: str, seconds: float, **values: Any) -> None:
        await field.publish(f"sot/kall/{topic}", json.dumps({**values, "ts": start + seconds}))

    await reading("grid/main", 0, present=True)
    await reading("station/adblue", 0, volume=3000)
    await reading("grid/main", 60, present=False)
    await reading("station/adblue", 120, volume=2800)  # 200 L sold
    for step in range(1, 151):
        await reading("station/adblue", 600 + step * 10, volume=2800 + step * 1000 / 150)
    await reading("station/adblue", 3590, volume=3700)  # 100 L more sold
    await wait_for_state(mqtt_hass, "sensor.kall_station_adblue_sold_this_outage", "300.0")


async def test_the_summary_tells_the_litres_the_display_and_the_sensor_tell(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A station gauge read in per cent: 57 % of 10 000 L is 5700 L, 4700 L above the reserve
    of a tenth. The sensor and the display say 4700; the county and the village's other
    displays, reading the summary, are told the same, not a hundred less."""
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, site_entry())
    try:
        await field.publish("sot/kall/grid/main/present", "ON")
        await field.publish("sot/kall/station/diesel/meta", json.dumps({"capacity": 10000}))
        await field.publish("sot/kall/station/diesel", json.dumps({"level": 57, "pump": True}))
        await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_for_sale", "4700")

        def products() -> dict[str, Any]:
            figures: dict[str, Any] = attributes(mqtt_hass, "sensor.kall_fuel_for_sale")
            return figures["products"]

        # The site's figures follow once their interval is over (a second at most).
        await wait_for(
            mqtt_hass, lambda: products()["diesel"]["for_sale"] is not None, "the site's figures"
        )
        assert products()["diesel"]["for_sale"] == 4700
        content = await next_summary(field, lambda c: c["status"] == "open" and c["fuel"])
        assert content["fuel"] == [
            {"product": "diesel", "name": "diesel", "status": "open", "litres": 4700}
        ]
    finally:
        await field.publish("sot/kall/public", b"", retain=True)


async def test_back_after_a_long_stop_the_summary_does_not_flash_limited_while_readings_come(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Home Assistant back after 10 minutes, its nodes online all along: their relays' and
    pumps' ON/OFF words are live, their temperatures and stock stale until each node's next
    report. Meanwhile the summary on the broker keeps saying "open" (not "limited: no data from
    freezer f1" for the half minute until the freezer node reports again), and once the
    readings say the same again it keeps its `since`."""
    first, after = await back_after_a_long_stop(mqtt_hass, field, grid="ON")
    assert after["status"] == "open"
    assert after["since"] == first["since"]


async def test_back_after_a_long_stop_a_grid_gone_meanwhile_is_told_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The grid went while Home Assistant was away and the generator carries the site: that is
    told at once, though the freezer node has not reported again yet."""
    first, after = await back_after_a_long_stop(mqtt_hass, field, grid="OFF")
    assert after["power"] == "generator"
    assert after["services"]["food"] == {"status": "limited", "reasons": ["no_data"]}
    assert after["since"] != first["since"]


async def test_back_after_a_long_stop_a_shop_closed_meanwhile_is_told_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The shop's circuit was switched off while Home Assistant was away: the store is closed,
    and that is told at once, though the station's stock has not been reported again yet (not
    "open" for the five minutes until the site settles)."""
    first, after = await back_after_a_long_stop(
        mqtt_hass,
        field,
        grid="ON",
        store="OFF",
        told=lambda c: c["services"]["food"]["status"] == "closed",
    )
    assert first["services"]["food"]["status"] == "open"
    assert after["services"]["food"] == {"status": "closed", "reasons": ["off"]}


async def test_back_after_a_long_stop_the_operator_s_message_is_told_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Right after a start, before every node has reported again, the operator puts up a
    message: the county and the displays reading the topic get it at once."""
    first, after = await back_after_a_long_stop(
        mqtt_hass, field, grid="ON", message="Stänger kl. 18 i dag.", told=lambda c: c["message"]
    )
    assert first["message"] is None
    assert after["message"] == "Stänger kl. 18 i dag."


async def back_after_a_long_stop(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    grid: str,
    store: str = "ON",
    message: str | None = None,
    told: Any = lambda _: True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary before a 10-minute stop, and the first one after it: `grid` and the relays
    (the store's `store`) reported at once, the freezer and the stock again only after the
    first summary was due, and then only if nothing else happened meanwhile (the operator's
    `message`); the first summary after the stop that satisfies `told`."""
    entry = site_entry()
    nodes = ("meter", "relays", "freezers", "station")
    metas = {
        "grid/main": {"node": "meter"},
        "generator/main": {"node": "meter"},
        "load/store": {"node": "relays", "provides": "food"},
        "freezer/f1": {"node": "freezers"},
        "station/diesel": {"node": "station", "capacity": 10000},
    }
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    try:
        for node in nodes:
            await field.publish(f"sot/kall/node/{node}/status", "online", retain=True)
        for component, meta in metas.items():
            await field.publish(f"sot/kall/{component}/meta", json.dumps(meta), retain=True)

        async def readings(present: str, store: str = "ON") -> None:
            await field.publish("sot/kall/grid/main/present", present)
            await field.publish(
                "sot/kall/generator/main/on_load", "OFF" if present == "ON" else "ON"
            )
            await field.publish("sot/kall/load/store/state", store)

        async def measured() -> None:
            await field.publish("sot/kall/freezer/f1/temperature", "-20")
            await field.publish(
                "sot/kall/station/diesel", json.dumps({"volume": 8000, "pump": True})
            )

        await readings("ON")
        await measured()
        first = await next_summary(field, lambda c: c["status"] == "open" and c["fuel"])
        real_now = SiteCoordinator.now
        later = timedelta(minutes=10)

        def now(self: SiteCoordinator) -> Any:
            # While a message is taken in, the instant it came (already moved on).
            moment = self._moment
            return real_now(self) + later if moment is None else moment

        with patch.object(SiteCoordinator, "now", now):
            assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
            await mqtt_hass.async_block_till_done()
            await readings(grid, store)
            await asyncio.sleep(RETAINED_WAIT + 0.5)  # past the first publish's wait
            await mqtt_hass.async_block_till_done()
            if store == "ON":
                assert state(mqtt_hass, "sensor.kall_food") == "limited"  # the operator sees why
            if message is not None:
                await mqtt_hass.services.async_call(
                    "text",
                    "set_value",
                    {ATTR_ENTITY_ID: "text.kall_public_message", "value": message},
                    blocking=True,
                )
            elif grid == "ON" and store == "ON":
                await measured()
            after = await next_summary(field, told)
        return first, after
    finally:
        await field.publish("sot/kall/public", b"", retain=True)
        for node in nodes:
            await field.publish(f"sot/kall/node/{node}/status", b"", retain=True)
        for component in metas:
            await field.publish(f"sot/kall/{component}/meta", b"", retain=True)


async def test_a_disabled_site_takes_its_summary_off_the_broker(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, broker_port: int
) -> None:
    """Disabled, the site is no longer watched: a display must not go on reading the "open"
    it last published. Enabled again, it publishes afresh."""
    entry = site_entry()
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    try:
        await open_on_the_grid(field)
        await next_summary(field, lambda c: c["status"] == "open")
        assert await mqtt_hass.config_entries.async_set_disabled_by(
            entry.entry_id, ConfigEntryDisabler.USER
        )
        await mqtt_hass.async_block_till_done()
        await nothing_retained_on(broker_port, "sot/kall/public")
        assert await mqtt_hass.config_entries.async_set_disabled_by(entry.entry_id, None)
        await mqtt_hass.async_block_till_done()
        await open_on_the_grid(field)
        await next_summary(field, lambda c: c["status"] == "open")
    finally:
        await field.publish("sot/kall/public", b"", retain=True)


async def test_fuel_is_limited_while_one_of_the_pump_circuits_is_off(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The station's dispensers on two circuits, each a load providing fuel: one shed, the
    other on. Fuel is limited, as it is on a site without a gauge, not open."""
    await start_site(mqtt_hass, field, site_entry())
    for pump in ("pumps1", "pumps2"):
        await field.publish(
            f"sot/kall/load/{pump}/meta", json.dumps({"node": "relays", "provides": "fuel"})
        )
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/load/pumps1/state", "ON")
    await field.publish("sot/kall/load/pumps2/state", "ON")
    await field.publish("sot/kall/station/diesel", json.dumps({"volume": 8000, "ullage": 2000}))
    await wait_for_state(mqtt_hass, "sensor.kall_fuel_for_sale", "open")
    await field.publish("sot/kall/load/pumps2/state", "OFF")
    await wait_for_state(mqtt_hass, "sensor.kall_fuel_for_sale", "limited")
    assert attributes(mqtt_hass, "sensor.kall_fuel_for_sale")["reason"] == "load pumps2 off"
    assert state(mqtt_hass, "sensor.kall_services") == "limited"
    # The product's own entity follows at the next tick (a load's reading is not the product's).
    async_fire_time_changed(mqtt_hass, dt_util.utcnow() + timedelta(seconds=16))
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_status", "limited")
    await field.publish("sot/kall/load/pumps1/state", "OFF")
    await wait_for_state(mqtt_hass, "sensor.kall_fuel_for_sale", "closed")


async def test_a_products_status_follows_the_grid_going_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The pumps on the site's power and the grid gone with no generator: the diesel's own
    status says closed when the fuel service does, not at the next tick."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/station/diesel", json.dumps({"volume": 8000, "ullage": 2000}))
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_status", "open")
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "sensor.kall_fuel_for_sale", "closed")
    assert state(mqtt_hass, "sensor.kall_station_diesel_status") == "closed"
