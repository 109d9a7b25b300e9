"""Repair issues: raised when their condition starts, withdrawn when it ends, fixed in place.

Each test reads the issue the way Settings → Repairs shows it (its title and text rendered from
the translations in English, Swedish and Bokmål) and runs its fix flow through Home Assistant's
repairs flow manager, as the frontend does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiomqtt
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sot.const import DOMAIN

from .helpers import (
    modbus_device,
    site_entry,
    start_site,
    tcp_genset,
    wait_for,
    wait_for_state,
    wait_until_subscribed,
)
from .modbus.server import SimulatedDevice, tcp_server
from .modbus.test_control import ComApController


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _issues(hass: HomeAssistant, kind: str) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith(kind) and issue.active
    ]


FIRST_STEP = {
    "modbus_profile_unusable": "confirm",
    "modbus_bus_conflict": "choose",
    "site_silent": "limit",
    "generator_not_exercised": "init",
}


async def _read(hass: HomeAssistant, issue: ir.IssueEntry, language: str = "en") -> str:
    """The issue's title and text as Repairs shows them in `language`.

    A fixable issue's text is its fix flow's first step (hassfest allows no other).
    """
    texts = await async_get_translations(hass, language, "issues", {DOMAIN})
    base = f"component.{DOMAIN}.issues.{issue.translation_key}"
    placeholders = issue.translation_placeholders or {}
    step = FIRST_STEP[str(issue.translation_key)]
    parts = (f"{base}.title", f"{base}.fix_flow.step.{step}.description")
    return " | ".join(texts[part].format(**placeholders) for part in parts)


async def _fix(hass: HomeAssistant, issue: ir.IssueEntry) -> dict[str, Any]:
    """Open the issue's fix flow the way the frontend does."""
    assert await async_setup_component(hass, "repairs", {})
    from homeassistant.components.repairs import repairs_flow_manager  # noqa: PLC0415

    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": issue.issue_id})
    return dict(result)


async def _answer(hass: HomeAssistant, flow_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    from homeassistant.components.repairs import repairs_flow_manager  # noqa: PLC0415

    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = dict(await manager.async_configure(flow_id, answer))
    await hass.async_block_till_done()
    return result


async def test_silent_site_raises_an_issue_that_ends_when_it_reports(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Nothing for longer than the limit: a warning; data again: the warning goes by itself."""
    await mqtt_hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to("2026-11-27 12:00:00+00:00")
    entry = site_entry(silent_after=30, stale_timeout=600)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    await _tick(mqtt_hass, freezer, 29 * 60)
    assert _issues(mqtt_hass, "site_silent") == []

    await _tick(mqtt_hass, freezer, 2 * 60)
    [issue] = _issues(mqtt_hass, "site_silent")
    assert issue.severity is ir.IssueSeverity.WARNING
    assert await _read(mqtt_hass, issue) == (
        "Kall has gone silent | Nothing from Kall has arrived since 2026-11-27 13:00, more "
        "than 30 minutes. Check the site's nodes, its network and the MQTT broker or its "
        "bridge. Its values turn unavailable as they grow older than *Data is stale after*; "
        "this warning ends by itself once data arrives again.\n\nIf the site reports this "
        "seldom on purpose, allow it a longer silence."
    )
    assert (await _read(mqtt_hass, issue, "sv")).startswith("Kall har tystnat | Inget från Kall")
    assert (await _read(mqtt_hass, issue, "nb")).startswith("Kall har blitt stille | Ingenting")

    await field.publish("sot/kall/freezer/f1/temperature", "-18.5")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.5")
    await _tick(mqtt_hass, freezer, 15)
    assert _issues(mqtt_hass, "site_silent") == []


async def test_silence_limit_is_changed_in_the_fix_flow_without_a_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A site that reports seldom on purpose: the user allows more silence, nothing blanks."""
    entry = site_entry(silent_after=30, stale_timeout=86400)
    coordinator = await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    await _tick(mqtt_hass, freezer, 31 * 60)
    [issue] = _issues(mqtt_hass, "site_silent")

    form = await _fix(mqtt_hass, issue)
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "limit"
    done = await _answer(mqtt_hass, form["flow_id"], {"silent_after": 120})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["silent_after"] == 120
    # Applied in the running site: the same coordinator, the values still shown.
    assert entry.runtime_data is coordinator
    assert coordinator.site.settings.silent_after == timedelta(minutes=120)
    assert mqtt_hass.states.get("binary_sensor.kall_grid_present").state == "on"
    await _tick(mqtt_hass, freezer, 60)
    assert _issues(mqtt_hass, "site_silent") == []


async def test_a_shorter_silence_limit_raises_its_issue_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A limit changed in the settings is checked when it is saved, not at the next tick."""
    entry = site_entry(silent_after=60, stale_timeout=86400)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    await _tick(mqtt_hass, freezer, 31 * 60)
    assert _issues(mqtt_hass, "site_silent") == []
    mqtt_hass.config_entries.async_update_entry(
        entry, options={**entry.options, "silent_after": 30}
    )
    await mqtt_hass.async_block_till_done()
    assert len(_issues(mqtt_hass, "site_silent")) == 1


async def test_unexercised_generator_is_reminded_and_can_be_put_off(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Watched for 41 days without a run: a warning; "remind me in a week" puts it off."""
    freezer.move_to("2026-11-27 12:00:00+00:00")
    entry = site_entry()
    last_run = (dt_util.utcnow() - timedelta(days=41)).isoformat()
    hass_storage[f"{DOMAIN}.{entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}",
        "data": {"generator_watched_since": last_run, "generator_last_run": last_run},
    }
    coordinator = await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/generator/main/state", "stopped")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "stopped")
    await _tick(mqtt_hass, freezer, 15)
    [issue] = _issues(mqtt_hass, "generator_not_exercised")
    assert (await _read(mqtt_hass, issue)).startswith(
        "Kall: Generator has not run for 41 days | Generator at Kall has not run for 41 days."
    )
    # The generator's name is Home Assistant's language's (English here); on a Swedish Home
    # Assistant it reads "Elverket".
    assert (await _read(mqtt_hass, issue, "sv")).startswith(
        "Kall: Generator har inte gått på 41 dagar"
    )

    # No generator control over MQTT: the flow offers the reminder only.
    form = await _fix(mqtt_hass, issue)
    assert form["step_id"] == "snooze"
    done = await _answer(mqtt_hass, form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await _tick(mqtt_hass, freezer, 6 * 24 * 3600)
    # Days passing at once make HA's MQTT client reconnect: wait until messages arrive again.
    await wait_until_subscribed(mqtt_hass, field, coordinator, freezer)
    await field.publish("sot/kall/generator/main/state", "stopped")
    await _tick(mqtt_hass, freezer, 15)
    assert _issues(mqtt_hass, "generator_not_exercised") == []
    await _tick(mqtt_hass, freezer, 2 * 24 * 3600)
    await wait_until_subscribed(mqtt_hass, field, coordinator, freezer)
    await field.publish("sot/kall/generator/main/state", "stopped")
    await _tick(mqtt_hass, freezer, 15)
    [again] = _issues(mqtt_hass, "generator_not_exercised")
    assert again.translation_placeholders == {
        "site": "Kall",
        "generator": "Generator",
        "days": "49",
    }

    # A run ends it.
    await field.publish("sot/kall/generator/main/state", "running")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
    await _tick(mqtt_hass, freezer, 15)
    assert _issues(mqtt_hass, "generator_not_exercised") == []


async def test_unusable_profile_is_an_issue_whose_fix_removes_the_device(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A device saved with a profile this version does not ship: an error, removed in place."""
    entry = site_entry(
        devices=[
            modbus_device(
                "Old genset",
                device_id="old",
                profile="retired_profile",
                connection="tcp",
                host="127.0.0.1",
                port=1502,
                unit=1,
            )
        ]
    )
    await start_site(mqtt_hass, field, entry)
    [issue] = _issues(mqtt_hass, "modbus_profile_unusable")
    assert issue.severity is ir.IssueSeverity.ERROR
    assert (await _read(mqtt_hass, issue)).startswith(
        "Kall: the Modbus device Old genset cannot be used | The Modbus device Old genset uses "
        "the profile retired_profile, which cannot be used (no shipped profile named "
        "'retired_profile')."
    )

    form = await _fix(mqtt_hass, issue)
    assert form["step_id"] == "confirm"
    done = await _answer(mqtt_hass, form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await wait_for(mqtt_hass, lambda: not entry.subentries, "the device to be removed")
    await mqtt_hass.async_block_till_done()
    assert _issues(mqtt_hass, "modbus_profile_unusable") == []


def _disagreeing_on_the_framing(port: int) -> list[ConfigSubentryData]:
    """A grid meter (unit 1) and a tank gauge (unit 2) behind one gateway, the meter framed as
    Modbus TCP and the gauge as RTU over TCP."""
    line = {"host": "127.0.0.1", "port": port}
    return [
        modbus_device(
            "Grid meter",
            device_id="meter",
            profile="eastron_sdm120",
            connection="tcp",
            unit=1,
            **line,
        ),
        modbus_device(
            "Tank gauge",
            device_id="tank",
            profile="tank_gauge",
            connection="rtu_over_tcp",
            unit=2,
            **line,
        ),
    ]


async def test_devices_disagreeing_on_a_line_are_settled_in_the_fix_flow(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Two devices behind one gateway, one framed as RTU over TCP: one choice settles both."""
    meter = SimulatedDevice(input={0: [0] * 80})
    tank = SimulatedDevice(holding={0: [0] * 8})
    async with tcp_server({1: meter, 2: tank}) as port:
        entry = site_entry(devices=_disagreeing_on_the_framing(port))
        await start_site(mqtt_hass, field, entry)
        [issue] = _issues(mqtt_hass, "modbus_bus_conflict")
        bus = f"127.0.0.1:{port}"
        assert issue.translation_placeholders == {
            "site": "Kall",
            "bus": bus,
            "devices": "Grid meter, Tank gauge",
            "ignored": "Tank gauge",
        }
        assert (await _read(mqtt_hass, issue, "nb")).startswith(
            f"Kall: Modbus-enhetene på {bus} har ulike innstillinger"
        )

        form = await _fix(mqtt_hass, issue)
        assert form["step_id"] == "choose"
        options = form["data_schema"].schema["settings"].config["options"]
        assert [o["label"] for o in options] == [
            "Modbus TCP (Grid meter)",
            "RTU over TCP (Tank gauge)",
        ]
        done = await _answer(mqtt_hass, form["flow_id"], {"settings": options[0]["value"]})
        assert done["type"] is FlowResultType.CREATE_ENTRY
        await wait_for(
            mqtt_hass,
            lambda: all(s.data["connection"] == "tcp" for s in entry.subentries.values()),
            "both devices to use the chosen settings",
        )
        await mqtt_hass.async_block_till_done()
        assert _issues(mqtt_hass, "modbus_bus_conflict") == []


async def test_a_site_never_heard_stays_silent_across_a_reload(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A site that has not reported since it was set up is silent since then: a reload does not
    withdraw its issue, to raise it again half an hour later with a new time."""
    await mqtt_hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to("2026-11-27 12:00:00+00:00")
    entry = site_entry(silent_after=30, stale_timeout=600)
    await start_site(mqtt_hass, field, entry, freezer)
    await _tick(mqtt_hass, freezer, 31 * 60)
    [issue] = _issues(mqtt_hass, "site_silent")
    assert issue.translation_placeholders["since"] == "2026-11-27 13:00"

    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await wait_until_subscribed(mqtt_hass, field, entry.runtime_data, freezer)
    await _tick(mqtt_hass, freezer, 15)
    assert [i.translation_placeholders for i in _issues(mqtt_hass, "site_silent")] == [
        issue.translation_placeholders
    ]


async def test_a_silence_limit_that_still_is_too_short_leaves_the_issue(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Closing the fix flow is not the site reporting: while it stays silent past the limit
    the user kept (or chose, still too short), Repairs goes on saying so."""
    entry = site_entry(silent_after=30, stale_timeout=86400)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    await _tick(mqtt_hass, freezer, 45 * 60)
    [issue] = _issues(mqtt_hass, "site_silent")

    form = await _fix(mqtt_hass, issue)
    done = await _answer(mqtt_hass, form["flow_id"], {"silent_after": 30})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await _tick(mqtt_hass, freezer, 15)
    [again] = _issues(mqtt_hass, "site_silent")
    assert again.translation_placeholders == issue.translation_placeholders

    form = await _fix(mqtt_hass, again)
    await _answer(mqtt_hass, form["flow_id"], {"silent_after": 40})
    await _tick(mqtt_hass, freezer, 15)
    [longer] = _issues(mqtt_hass, "site_silent")
    assert longer.translation_placeholders is not None
    assert longer.translation_placeholders["minutes"] == "40"


async def test_a_test_run_started_from_repairs_leaves_the_reminder_until_it_runs(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_storage: dict[str, Any],
) -> None:
    """Starting a test run from Repairs sends the start; the reminder ends when the generator is
    seen running, not when the command has left (a controller not in AUTO takes it, stays put)."""
    comap = ComApController(holding={1000: [0] * 400, 4207: [0, 0, 0]}, coils={4700: [False]})
    async with tcp_server({1: comap}) as port:
        comap_settings = tcp_genset(
            port,
            profile="comap_intelilite4",
            components={"generator": "main", "fuel": ""},
            control_enabled=True,
        )
        entry = site_entry(devices=[comap_settings])
        last_run = (dt_util.utcnow() - timedelta(days=41)).isoformat()
        hass_storage[f"{DOMAIN}.{entry.entry_id}"] = {
            "version": 1,
            "key": f"{DOMAIN}.{entry.entry_id}",
            "data": {"generator_watched_since": last_run, "generator_last_run": last_run},
        }
        coordinator = await start_site(mqtt_hass, field, entry)
        # The controller's first poll shows the generator; the next check of the site, overdue.
        await wait_for(mqtt_hass, lambda: bool(coordinator.site.generators()), "a first poll")
        await _check_now(mqtt_hass)
        assert "start" in coordinator.actions("generator", "main")
        [issue] = _issues(mqtt_hass, "generator_not_exercised")

        menu = await _fix(mqtt_hass, issue)
        assert menu["type"] is FlowResultType.MENU
        done = await _answer(mqtt_hass, menu["flow_id"], {"next_step_id": "start"})
        assert comap.value("coils", 4700) == 1
        assert done["type"] is FlowResultType.ABORT
        assert done["reason"] == "start_sent"
        texts = await async_get_translations(mqtt_hass, "en", "issues", {DOMAIN})
        reason = "component.sot.issues.generator_not_exercised.fix_flow.abort.start_sent"
        assert texts[reason].format(**done["description_placeholders"]) == (
            "The start was sent to Generator. This warning ends by itself once Generator is "
            "seen running; if it does not start, check the controller (a controller that is not "
            "in AUTO may ignore a remote start)."
        )
        await _check_now(mqtt_hass)
        assert [i.issue_id for i in _issues(mqtt_hass, "generator_not_exercised")] == [
            issue.issue_id
        ]
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def _check_now(hass: HomeAssistant) -> None:
    """Let the site's next periodic check run now, in real time (a Modbus poll needs it)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=16))
    await hass.async_block_till_done()


async def test_a_disabled_site_leaves_nothing_to_fix_in_repairs(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Disabled on purpose: its warnings (whose fix flows would only say the site is not
    running) go with it; enabled again, what still holds is raised again."""
    entry = site_entry(silent_after=30, stale_timeout=600)
    await start_site(mqtt_hass, field, entry, freezer)
    await _tick(mqtt_hass, freezer, 31 * 60)
    [issue] = _issues(mqtt_hass, "site_silent")

    assert await mqtt_hass.config_entries.async_set_disabled_by(
        entry.entry_id, ConfigEntryDisabler.USER
    )
    await mqtt_hass.async_block_till_done()
    assert _issues(mqtt_hass, "site_silent") == []

    assert await mqtt_hass.config_entries.async_set_disabled_by(entry.entry_id, None)
    await mqtt_hass.async_block_till_done()
    await wait_until_subscribed(mqtt_hass, field, entry.runtime_data, freezer)
    await _tick(mqtt_hass, freezer, 15)
    assert [i.issue_id for i in _issues(mqtt_hass, "site_silent")] == [issue.issue_id]


async def test_a_device_removed_while_the_line_form_is_open_is_asked_again(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The settings chosen were a device's that was removed meanwhile: the form says so and
    offers the line's settings as they are now, nothing is changed."""
    devices = {1: SimulatedDevice(input={0: [0] * 80}), 2: SimulatedDevice(holding={0: [0] * 8})}
    devices[3] = SimulatedDevice(input={0: [0] * 80})
    async with tcp_server(devices) as port:
        shop_meter = modbus_device(
            "Shop meter",
            device_id="shop",
            profile="eastron_sdm120",
            connection="tcp",
            host="127.0.0.1",
            port=port,
            unit=3,
        )
        entry = site_entry(devices=[*_disagreeing_on_the_framing(port), shop_meter])
        await start_site(mqtt_hass, field, entry)
        [issue] = _issues(mqtt_hass, "modbus_bus_conflict")
        form = await _fix(mqtt_hass, issue)
        options = form["data_schema"].schema["settings"].config["options"]
        chosen = options[0]["value"]
        assert entry.subentries[chosen].title == "Grid meter"
        mqtt_hass.config_entries.async_remove_subentry(entry, chosen)
        await wait_for(
            mqtt_hass, lambda: entry.state is ConfigEntryState.LOADED, "the site to reload"
        )
        again = await _answer(mqtt_hass, form["flow_id"], {"settings": chosen})
        assert again["type"] is FlowResultType.FORM
        assert again["errors"] == {"settings": "device_gone"}
        now = again["data_schema"].schema["settings"].config["options"]
        assert [o["label"] for o in now] == [
            "RTU over TCP (Tank gauge)",
            "Modbus TCP (Shop meter)",
        ]
        assert entry.subentries[now[0]["value"]].data["connection"] == "rtu_over_tcp"
        assert {s.data["connection"] for s in entry.subentries.values()} == {"tcp", "rtu_over_tcp"}
