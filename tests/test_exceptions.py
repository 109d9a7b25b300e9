"""Every error the integration raises reaches the user as a translated text, not its key.

Home Assistant renders `HomeAssistantError(translation_domain=, translation_key=,
translation_placeholders=)` from its translation cache: `str(err)` is the English message
(`homeassistant/exceptions.py`, `helpers/translation.py: async_get_exception_message`), and the
frontend shows the user's language from the same key and placeholders. The errors are raised
here through the real code paths: a site set up before MQTT is connected, a switch turned on with
the broker gone, and Modbus devices that refuse, do not answer or do not switch.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import translation
from pymodbus.constants import ExcCodes

from custom_components.sot.const import DOMAIN
from custom_components.sot.coordinator import SiteCoordinator
from custom_components.sot.entity import entity_unique_id
from custom_components.sot.site.readings import Command

from .helpers import (
    connect_mqtt,
    site_entry,
    start_site,
    tcp_genset,
    tcp_relays,
    wait_for,
    wait_for_state,
)
from .modbus.server import SimulatedDevice, dse_on_load_during_outage, tcp_server
from .modbus.test_control import ComApController
from .mosquitto import mosquitto
from .test_hassfest_rules import (
    DYNAMIC_EXCEPTION_KEYS,
    LANGUAGES,
    _keyword,
    _modules,
    _strings,
    placeholders,
    translations,
)

# What each message reads with the placeholders these tests raise it with (English, as str()).
EXPECTED = {
    "mqtt_not_ready": "The MQTT integration is not connected yet",
    # Ends with the transport's own words, which differ between pymodbus releases.
    # Ends with the transport's own words.
    "command_failed": "Could not send the command to Load heater at Kall: the broker refused it",
    "modbus_unreachable": (
        "The command to Load heater at Kall was not carried out: its Modbus device relays did not"
        " answer. Check the device's power and its cable or network, then try again"
    ),
    "mqtt_disconnected": (
        "Home Assistant is not connected to the MQTT broker, so the command to Load heater at Kall"
        " was not sent. It will not be sent later either: try again once the broker is back"
    ),
    "command_not_accepted": (
        "comap did not carry out start for Generator: comap reads off at coil 4700 after start"
    ),
    "command_unconfirmed": (
        "stop was sent to comap, but reading it back failed, so it is not known whether"
        " Generator followed: comap: exception 4: device failure"
    ),
    "command_expired": (
        "Load heater at Kall did not confirm the command before it expired, 1 s after it was sent."
        " Its relay does not carry out an expired command later: check the node, the relay and"
        " the node's clock, then send the command again"
    ),
    "control_disabled": (
        "Generator control of genset is turned off, so start was not sent. Turn on 'Allow"
        " generator control' in the Modbus device's settings to control the generator from"
        " Home Assistant"
    ),
    "action_not_supported": "relays does not support the command start",
    "write_not_confirmed": (
        "relays did not switch Load heater at Kall: it reads back the other way. Check the relay"
        " and its wiring"
    ),
    "site_not_found": "No SOT site has the config entry no-such-entry",
    "site_not_loaded": "Kall is not running; try again once it has started",
    "period_reversed": (
        "The period ends (2026-11-01T00:00:00+00:00) before it begins"
        " (2026-12-01T00:00:00+00:00): swap the two"
    ),
    "county_link_down": (
        "The link to Kall is down, so the command to Load heater was not sent: it would reach"
        " nobody. It will not be sent later either: try again once the link is back"
    ),
    "alarm_not_a_time": (
        "Not an alarm's timestamp: yesterday. Use the alarm entity's state when the alarm was"
        " raised, a date and time with its time zone"
    ),
    "alarm_unknown": (
        "Kall raised no alarm at 2026-11-22T10:00:03.000+00:00 in the last 9 days. Use the alarm"
        " entity's state when the alarm was raised (`sot.unacknowledged_alarms` lists them), and"
        " the site that raised it"
    ),
    "message_at_site": (
        "The public message of Kall is put up at the site, in its own Home Assistant: the county"
        " shows it as the site publishes it"
    ),
}


def test_every_exception_is_raised_here() -> None:
    """The tests below cover every message en.json has: a new one needs its own case."""
    assert sorted(EXPECTED) == sorted(translations("en")["exceptions"])


def raise_sites() -> list[tuple[str, str, set[str] | None]]:
    """(translation key, where, placeholder names given) of every translated raise."""
    sites: list[tuple[str, str, set[str] | None]] = []
    for module, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _keyword(node, "translation_domain") is None:
                continue
            keys, dynamic = _strings(_keyword(node, "translation_key"), module)
            if dynamic:
                keys |= DYNAMIC_EXCEPTION_KEYS[module.__name__]()
            given = _keyword(node, "translation_placeholders")
            names: set[str] | None = set()
            if isinstance(given, ast.Dict):
                names = {k.value for k in given.keys if isinstance(k, ast.Constant)}
            elif given is not None:
                names = None  # built at run time: not checked here
            sites += [(key, f"{module.__name__}:{node.lineno}", names) for key in keys]
    return sites


def test_every_raise_gives_the_placeholders_its_message_uses() -> None:
    """A placeholder the code does not give shows as {name} in the message."""
    messages = translations("en")["exceptions"]
    problems = [
        f"{where}: {key} uses {sorted(placeholders(messages[key]['message']) - names)}"
        for key, where, names in raise_sites()
        if names is not None and not placeholders(messages[key]["message"]) <= names
    ]
    assert problems == []


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_translated_messages_use_the_english_placeholders(lang: str) -> None:
    english, other = translations("en")["exceptions"], translations(lang)["exceptions"]
    assert sorted(other) == sorted(english)
    for key, entry in english.items():
        assert placeholders(other[key]["message"]) == placeholders(entry["message"]), key


async def _message(hass: HomeAssistant, lang: str, err: HomeAssistantError) -> str:
    """The message in `lang`, as the frontend renders the error's key and placeholders."""
    texts = await translation.async_get_translations(hass, lang, "exceptions", {DOMAIN})
    message = texts[f"component.{DOMAIN}.exceptions.{err.translation_key}.message"]
    return message.format(**(err.translation_placeholders or {}))


async def _check(hass: HomeAssistant, err: HomeAssistantError, key: str) -> None:
    """The error has its key, reads as EXPECTED, and renders in every language we ship."""
    assert err.translation_domain == DOMAIN
    assert err.translation_key == key
    if key == "command_failed":
        assert str(err).startswith(EXPECTED[key])
    else:
        assert str(err) == EXPECTED[key]
    for lang in LANGUAGES:
        text = await _message(hass, lang, err)
        assert "{" not in text, f"{lang}: {text}"
        assert text != key


async def test_setup_before_mqtt_connects_says_so(hass: HomeAssistant) -> None:
    """The entry waits for MQTT; its reason, shown on the integration's card, is the text."""
    entry = site_entry()
    entry.add_to_hass(hass)
    with patch("custom_components.sot.async_wait_for_mqtt_client", return_value=False):
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "mqtt_not_ready"
    assert entry.reason == EXPECTED["mqtt_not_ready"]
    err = HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="mqtt_not_ready",
        translation_placeholders=entry.error_reason_translation_placeholders,
    )
    await _check(hass, err, "mqtt_not_ready")
    assert await _message(hass, "sv", err) == "MQTT-integrationen är inte ansluten än."
    assert await _message(hass, "nb", err) == "MQTT-integrasjonen er ikke tilkoblet ennå."


async def test_a_command_with_the_broker_down_is_refused(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> None:
    """The broker (a private one, so stopping it touches no other test) goes away."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("")
    with mosquitto() as port:
        mqtt_entry = await connect_mqtt(hass, port)
        async with aiomqtt.Client("127.0.0.1", port, identifier="field-exceptions") as field:
            entry = site_entry()
            await start_site(hass, field, entry)
            await field.publish("sot/kall/load/heater/state", "ON")
            switch = await _switch_of(hass, "heater")
            await wait_for_state(hass, switch, "on")
    client = hass.data[DATA_MQTT].client
    await wait_for(hass, lambda: not client.connected, "HA's MQTT client to see the broker go")

    # The switch shows unavailable (nothing can arrive from its relay); an automation asking
    # anyway is told, in the operator's language, that nothing was sent.
    await wait_for_state(hass, switch, "unavailable")
    with pytest.raises(HomeAssistantError) as refused:
        await entry.runtime_data.async_command(Command("load", "heater", "turn_on"))
    await _check(hass, refused.value, "mqtt_disconnected")
    assert await _message(hass, "sv", refused.value) == (
        "Home Assistant är inte anslutet till MQTT-brokern, så kommandot till Load heater vid Kall"
        " skickades inte. Det skickas inte heller senare: försök igen när brokern är tillbaka."
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()


async def test_at_the_county_a_site_behind_a_cut_link_and_its_message_say_why(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The county's Home Assistant (the site reached through its bridge): a command while the
    bridge says the link is down, and the public message, which is the site's to put up."""
    entry = site_entry(county_bridge=True)
    await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
    coordinator = await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/load/heater/state", "ON")
    switch = await _switch_of(mqtt_hass, "heater")
    await wait_for_state(mqtt_hass, switch, "on")
    try:
        await field.publish("sot-bridge/kall/state", "0", qos=1, retain=True)
        await wait_for_state(mqtt_hass, switch, "unavailable")
        with pytest.raises(HomeAssistantError) as refused:
            await coordinator.async_command(Command("load", "heater", "turn_on"))
        await _check(mqtt_hass, refused.value, "county_link_down")
        # The link back (while it is down the message is unavailable, and Home Assistant
        # passes an unavailable entity by). A user's mistake, not a failure of the site: a
        # validation error.
        await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
        await wait_for_state(mqtt_hass, "text.kall_public_message", "")
        with pytest.raises(ServiceValidationError) as refused:
            await mqtt_hass.services.async_call(
                "text",
                "set_value",
                {"entity_id": "text.kall_public_message", "value": "Stängt"},
                blocking=True,
            )
        await _check(mqtt_hass, refused.value, "message_at_site")
        assert mqtt_hass.states.get("text.kall_public_message").state == ""  # type: ignore[union-attr]
    finally:
        await field.publish("sot-bridge/kall/state", b"", qos=1, retain=True)


async def _switch_of(hass: HomeAssistant, load: str) -> str:
    """The switch entity of a load, once the platform has added it."""
    registry = er.async_get(hass)
    unique_id = entity_unique_id("kall", "load", load, "state")

    def found() -> str | None:
        return registry.async_get_entity_id("switch", DOMAIN, unique_id)

    await wait_for(hass, lambda: found() is not None, f"the switch of {load}")
    switch = found()
    assert switch is not None
    return switch


async def test_modbus_commands_that_cannot_be_carried_out_say_why(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """Control off, a command the device has not, and a relay that does not switch."""
    relays = SimulatedDevice(coils={0: [False] * 8})
    relays.stuck.add(0)  # relay 1's driver has failed
    async with tcp_server({1: dse_on_load_during_outage(), 2: relays}) as port:
        entry = site_entry(devices=[tcp_genset(port), tcp_relays(port)])
        coordinator: SiteCoordinator = await start_site(mqtt_hass, field, entry)
        switch = await _switch_of(mqtt_hass, "heater")
        await wait_for_state(mqtt_hass, switch, "off")

        # An automation asking for a start while generator control is off.
        with pytest.raises(HomeAssistantError) as refused:
            await coordinator.async_command(Command("generator", "main", "start"))
        await _check(mqtt_hass, refused.value, "control_disabled")
        assert await _message(mqtt_hass, "sv", refused.value) == (
            "Styrning av elverket via genset är avslagen, så start skickades inte. Slå på"
            " ”Tillåt styrning av elverket” i Modbus-enhetens inställningar för att styra"
            " elverket från Home Assistant."
        )

        # A relay module has no start.
        with pytest.raises(HomeAssistantError) as unsupported:
            await coordinator.async_command(Command("load", "heater", "start"))
        await _check(mqtt_hass, unsupported.value, "action_not_supported")
        assert await _message(mqtt_hass, "nb", unsupported.value) == (
            "relays støtter ikke kommandoen start."
        )

        # The operator turns the heater on; the relay reads back off.
        with pytest.raises(HomeAssistantError) as unconfirmed:
            await mqtt_hass.services.async_call(
                "switch", "turn_on", {"entity_id": switch}, blocking=True
            )
        await _check(mqtt_hass, unconfirmed.value, "write_not_confirmed")
        # The names in it are given in Home Assistant's language (English here), as it raises.
        assert await _message(mqtt_hass, "sv", unconfirmed.value) == (
            "relays kopplade inte om Load heater vid Kall: återläsningen visar motsatt läge."
            " Kontrollera reläet och dess kablage."
        )

        # The relay module stops answering: the command cannot be carried out.
        relays.unplug()
        with pytest.raises(HomeAssistantError) as failed:
            await coordinator.async_command(Command("load", "heater", "turn_off"))
        await _check(mqtt_hass, failed.value, "modbus_unreachable")
        # In the operator's language throughout: the transport's own words go to the log.
        assert await _message(mqtt_hass, "sv", failed.value) == (
            "Kommandot till Load heater vid Kall utfördes inte: dess Modbus-enhet relays svarade"
            " inte. Kontrollera enhetens ström och dess kabel eller nätverk och försök igen."
        )
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_a_generator_command_it_did_not_follow_is_reported(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A ComAp that ignores the remote start, then one whose coil cannot be read back."""
    comap = ComApController(holding={1000: [0] * 400, 4207: [0, 0, 0]}, coils={4700: [False]})
    comap.stuck.add(4700)  # not in AUTO: the remote start is ignored
    async with tcp_server({1: comap}) as port:
        controller = tcp_genset(
            port, "ComAp", device_id="comap", profile="comap_intelilite4", control_enabled=True
        )
        entry = site_entry(devices=[controller])
        coordinator: SiteCoordinator = await start_site(mqtt_hass, field, entry)
        with pytest.raises(HomeAssistantError) as ignored:
            await coordinator.async_command(Command("generator", "main", "start"))
        await _check(mqtt_hass, ignored.value, "command_not_accepted")
        comap.stuck.clear()
        comap.failing[4700] = ExcCodes.DEVICE_FAILURE
        with pytest.raises(HomeAssistantError) as unknown:
            await coordinator.async_command(Command("generator", "main", "stop"))
        await _check(mqtt_hass, unknown.value, "command_unconfirmed")
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_a_relay_that_does_not_echo_is_reported(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Over MQTT a switch command is done when the relay echoes; silence is an error."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/load/heater/state", "OFF")
    switch = await _switch_of(mqtt_hass, "heater")
    await wait_for_state(mqtt_hass, switch, "off")
    with (
        patch("custom_components.sot.coordinator.COMMAND_LIFETIME", 1),
        patch("custom_components.sot.coordinator.COMMAND_ECHO_GRACE", 0),
        pytest.raises(HomeAssistantError) as silent,
    ):
        await mqtt_hass.services.async_call(
            "switch", "turn_on", {"entity_id": switch}, blocking=True
        )
    await _check(mqtt_hass, silent.value, "command_expired")
    assert await _message(mqtt_hass, "nb", silent.value) == (
        "Load heater ved Kall bekreftet ikke kommandoen før den utløp, 1 s etter at den ble sendt."
        " Reléet utfører ikke en utløpt kommando senere: sjekk noden, reléet og nodens klokke, og"
        " send deretter kommandoen på nytt."
    )
    state = mqtt_hass.states.get(switch)
    assert state.state == "off"
    # The switch says so too, rather than showing the command pending.
    assert state.attributes["last_command"] == "expired"
    assert state.attributes["last_command_state"] == "on"
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


def test_messages_are_plain_json_objects() -> None:
    """The shape HA reads: exceptions.<key>.message in every file."""
    for lang in LANGUAGES:
        raw = json.loads(
            (
                Path(__file__).parent.parent / f"custom_components/sot/translations/{lang}.json"
            ).read_text("utf-8")
        )
        for key, entry in raw["exceptions"].items():
            assert isinstance(entry, dict), f"{lang}: {key}"
            assert set(entry) == {"message"}, f"{lang}: {key}"


async def test_the_cold_chain_action_says_which_site_it_cannot_read(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """An id that is no site, a period that ends before it begins, a site not running."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    with pytest.raises(HomeAssistantError) as reversed_period:
        await mqtt_hass.services.async_call(
            DOMAIN,
            "cold_chain_record",
            {
                "config_entry_id": entry.entry_id,
                "since": "2026-12-01T00:00:00+00:00",
                "until": "2026-11-01T00:00:00+00:00",
            },
            blocking=True,
            return_response=True,
        )
    await _check(mqtt_hass, reversed_period.value, "period_reversed")
    with pytest.raises(HomeAssistantError) as not_a_time:
        await mqtt_hass.services.async_call(
            DOMAIN,
            "acknowledge_alarm",
            {"config_entry_id": entry.entry_id, "alarm": "yesterday"},
            blocking=True,
        )
    await _check(mqtt_hass, not_a_time.value, "alarm_not_a_time")
    with pytest.raises(HomeAssistantError) as unknown:
        await mqtt_hass.services.async_call(
            DOMAIN,
            "acknowledge_alarm",
            {"config_entry_id": entry.entry_id, "alarm": "2026-11-22T10:00:03.000+00:00"},
            blocking=True,
        )
    await _check(mqtt_hass, unknown.value, "alarm_unknown")
    for entry_id, key in (("no-such-entry", "site_not_found"), (entry.entry_id, "site_not_loaded")):
        if key == "site_not_loaded":
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
        with pytest.raises(HomeAssistantError) as raised:
            await mqtt_hass.services.async_call(
                DOMAIN,
                "cold_chain_record",
                {"config_entry_id": entry_id},
                blocking=True,
                return_response=True,
            )
        await _check(mqtt_hass, raised.value, key)
    assert await _message(mqtt_hass, "sv", raised.value) == (
        "Kall är inte igång; försök igen när den har startat."
    )
