"""The cold-chain record and storm readiness in a running Home Assistant.

A storm at Kall over the real broker: the record is saved to its own store a second after it
closes, survives a restart of the site, is pruned to 400 days, is returned by the
`sot.cold_chain_record` action and downloaded as CSV, with a login or through the signed link
the dashboard shows.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.sot.cold_chain import signed_link
from custom_components.sot.const import DOMAIN
from custom_components.sot.site.coldchain import outage_key

from .helpers import (
    heard,
    site_entry,
    start_site,
    wait_for,
    wait_for_state,
    wait_until_subscribed,
)

RECORD = "sensor.kall_cold_chain_record"
READINESS = "sensor.kall_storm_readiness"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
STEP = timedelta(seconds=5)


async def cold_chain_record(hass: HomeAssistant, entry: Any, **period: Any) -> dict[str, Any]:
    """The `cold_chain_record` action's response for the site, as an automation gets it."""
    response = await hass.services.async_call(
        DOMAIN,
        "cold_chain_record",
        {"config_entry_id": entry.entry_id, **period},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


def minutes(steps: float) -> float:
    return steps * STEP.total_seconds() / 60


async def step(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, field: aiomqtt.Client, **topics: str
) -> None:
    """STEP passes, then the field publishes (`freezer__f1__temperature="-19.0"`...).

    Seconds, not minutes, and each reading waited for: MQTT's keep-alive runs on the same
    frozen clock, and its ping must be answered before a minute of it has passed.
    """
    freezer.tick(STEP)
    async_fire_time_changed(hass)
    for name, payload in topics.items():
        kind, component, quantity = name.split("__")
        await field.publish(f"sot/kall/{kind}/{component}/{quantity}", payload)
    coordinator = hass.config_entries.async_entries(DOMAIN)[0].runtime_data
    for name, payload in topics.items():
        reading = name.replace("__", "/")
        await wait_for(
            hass, lambda r=reading: heard(coordinator, r, dt_util.utcnow()), f"{name} = {payload}"
        )


async def storm(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, field: aiomqtt.Client
) -> datetime:
    """Grid lost for 31 steps; freezer f1 warms 0.3 °C a step from −20 to −11 °C, its door
    opened once; once the grid is back it cools 1 °C a step to −16 °C. Returns when the
    outage began."""
    # Not retained: the broker outlives the test.
    await field.publish("sot/kall/freezer/f1/meta", json.dumps({"name": "Frys 1"}))
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/freezer/f1/door", "OFF")
    await field.publish("sot/kall/freezer/f1/temperature", "-20.0")
    await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", "-20.0")
    await step(hass, freezer, field, grid__main__present="OFF")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "off")
    current = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.site.coldchain.current
    assert current is not None
    began: datetime = current.start
    # A timestamp sensor shows whole seconds.
    assert hass.states.get(RECORD).state == began.isoformat(timespec="seconds")  # type: ignore[union-attr]
    for number in range(1, 31):
        values = {"freezer__f1__temperature": f"{-20.0 + 0.3 * number:.1f}"}
        if number == 10:
            values["freezer__f1__door"] = "ON"
        if number == 11:
            values["freezer__f1__door"] = "OFF"
        await step(hass, freezer, field, **values)
    await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", "-11.0")
    await step(hass, freezer, field, grid__main__present="ON")
    for number in range(1, 6):
        await step(hass, freezer, field, freezer__f1__temperature=f"{-11.0 - number:.1f}")
    await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", "-16.0")
    return began


async def test_a_storm_is_recorded_saved_at_once_and_survives_a_restart(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    entry = site_entry()
    coordinator = await start_site(mqtt_hass, field, entry, freezer)
    key = f"sot.{entry.entry_id}.coldchain"
    assert mqtt_hass.states.get(RECORD) is None  # no freezer yet
    began = await storm(mqtt_hass, freezer, field)
    assert began == coordinator.site.coldchain.records[0].start

    # Saved within a second of the record closing, while Home Assistant keeps running.
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(mqtt_hass)
    await wait_for(mqtt_hass, lambda: key in hass_storage, "the record to be saved")
    (stored,) = hass_storage[key]["data"]["records"]
    assert stored["start"] == began.isoformat()

    # The sensor shows the record as soon as it closed, not at the next tick.
    state = mqtt_hass.states.get(RECORD)
    assert state is not None
    attributes = state.attributes
    assert attributes["record_closed"] is not None
    assert attributes["outage_start"] == began.isoformat()
    assert attributes["power_restored"] == (began + 31 * STEP).isoformat()
    assert attributes["highest_temperature"] == -11.0
    # Above −15 °C from step 16.67 of the outage until step 35 (−15 °C, cooling): 18.33
    # steps; above −12 °C from step 26.67 until step 32 (−12 °C): 5.33 steps.
    assert attributes["minutes_above_warning"] == pytest.approx(minutes(18.33), abs=0.06)
    assert attributes["minutes_above_critical"] == pytest.approx(minutes(5.33), abs=0.06)
    (line,) = attributes["freezers"]
    assert (line["freezer_name"], line["door_openings"]) == ("Frys 1", 1)
    path = f"/api/sot/{entry.entry_id}/coldchain/{outage_key(began)}.csv"
    assert attributes["csv_path"] == path
    assert attributes["csv_url"].startswith(f"{path}?authSig=")
    assert attributes["outages_recorded"] == 1

    # A restart of the site: the record is read back from its own store, once.
    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    reloaded = entry.runtime_data
    assert reloaded is not coordinator
    assert [r.as_dict() for r in reloaded.site.coldchain.records] == [stored]
    assert reloaded.site.coldchain.current is None
    response = await cold_chain_record(mqtt_hass, entry)
    assert response["site_name"] == "Kall"
    assert response["retention_days"] == 400
    (outage,) = response["outages"]
    assert outage["outage_start"] == began.isoformat()
    assert outage["csv_path"] == path
    assert outage["freezers"][0]["door_openings"] == 1

    # Deleting the site deletes its records with it.
    assert await mqtt_hass.config_entries.async_remove(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    assert key not in hass_storage


async def test_an_outage_in_progress_survives_a_restart(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = site_entry()
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/freezer/f1/temperature", "-20.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-20.0")
    await step(mqtt_hass, freezer, field, grid__main__present="OFF")
    await step(mqtt_hass, freezer, field, freezer__f1__temperature="-14.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-14.0")
    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    current = entry.runtime_data.site.coldchain.current
    assert current is not None
    assert current.end is None
    assert current.freezers["f1"].highest == -14.0
    response = await cold_chain_record(mqtt_hass, entry)
    (outage,) = response["outages"]
    assert outage["power_restored"] is None
    assert outage["freezers"][0]["minutes_without_data"] == 0.0

    # Ten minutes without a word from the freezer, the outage still going: the gap shows now
    # (its last reading went stale after 5 minutes; nothing after it is claimed measured).
    freezer.tick(timedelta(minutes=10))
    response = await cold_chain_record(mqtt_hass, entry)
    (outage,) = response["outages"]
    assert outage["record_closed"] is None
    assert outage["freezers"][0]["minutes_without_data"] == 10.0


async def test_a_freezer_warm_in_an_outage_still_going_shows_its_minutes_above_so_far(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Frys 1 reads −10 °C, above both limits, and says nothing more for twenty minutes, its
    reading live all along: the record read now has those minutes above the limits, as it
    has them measured (none without data), not only once the record closes."""
    entry = site_entry(stale_timeout=3600)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/freezer/f1/temperature", "-20.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-20.0")
    await step(mqtt_hass, freezer, field, grid__main__present="OFF")
    await step(mqtt_hass, freezer, field, freezer__f1__temperature="-10.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-10.0")
    freezer.tick(timedelta(minutes=20))
    response = await cold_chain_record(mqtt_hass, entry)
    ((line,),) = (outage["freezers"] for outage in response["outages"])
    assert line["highest_temperature"] == -10.0
    assert line["minutes_without_data"] == 0.0
    # From −20 to −10 °C in the 5 s after the grid went, then −10 °C for 20 minutes.
    assert line["minutes_above_warning"] == pytest.approx(20.0, abs=0.1)
    assert line["minutes_above_critical"] == pytest.approx(20.0, abs=0.1)


async def test_a_reading_after_a_long_stop_stays_out_of_a_record_that_ran_out_meanwhile(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The grid came back with Frys 1 at −10 °C; Home Assistant then stopped for ten hours.
    The record ran out six hours after the grid returned, while nothing was known: the first
    reading after the start (−19 °C) is not its own, and does not close it ten hours late
    saying the freezer was back below its warning limit then."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/freezer/f1/temperature", "-20.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-20.0")
    await step(mqtt_hass, freezer, field, grid__main__present="OFF")
    await step(mqtt_hass, freezer, field, freezer__f1__temperature="-10.0")
    await step(mqtt_hass, freezer, field, grid__main__present="ON")
    current = entry.runtime_data.site.coldchain.current
    assert current is not None
    restored = current.end
    assert restored is not None
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    freezer.tick(timedelta(hours=10))
    assert await mqtt_hass.config_entries.async_setup(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    coordinator = entry.runtime_data
    await wait_until_subscribed(mqtt_hass, field, coordinator, freezer)
    await field.publish("sot/kall/freezer/f1/temperature", "-19.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-19.0")
    freezer.tick(timedelta(seconds=15))
    async_fire_time_changed(mqtt_hass)
    await mqtt_hass.async_block_till_done()
    (outage,) = (await cold_chain_record(mqtt_hass, entry))["outages"]
    (line,) = outage["freezers"]
    assert outage["power_restored"] == restored.isoformat()
    assert outage["record_closed"] == (restored + timedelta(hours=6)).isoformat()
    assert line["highest_temperature"] == -10.0
    assert line["back_below_warning_at"] is None


def _record(start: datetime) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
        "closed": (start + timedelta(hours=3)).isoformat(),
        "freezers": [
            {
                "id": "f1",
                "name": "Frys 1",
                "warning": -15.0,
                "critical": -12.0,
                "highest": -13.5,
                "highest_at": (start + timedelta(hours=2)).isoformat(),
                "above_warning": 1800.0,
                "above_critical": 0.0,
                "measured": 10800.0,
                "door_openings": 3,
            }
        ],
    }


async def test_a_year_of_outages_is_kept_and_what_is_older_pruned(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A store holding 420 days of weekly outages: after the start, 400 days are left, and
    the pruned store is written with the next change."""
    entry = site_entry()
    key = f"sot.{entry.entry_id}.coldchain"
    now = dt_util.utcnow()
    starts = [now - timedelta(days=7 * week, hours=5) for week in range(60, 0, -1)]
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"version": 1, "records": [_record(s) for s in starts]},
    }
    await start_site(mqtt_hass, field, entry, freezer)
    kept = [s for s in starts if now - (s + timedelta(hours=3)) <= timedelta(days=400)]
    assert 0 < len(kept) < len(starts)
    response = await cold_chain_record(mqtt_hass, entry)
    assert [o["outage_start"] for o in response["outages"]] == [s.isoformat() for s in kept]
    # Those of the last year are all there, with their figures.
    assert all(o["freezers"][0]["minutes_above_warning"] == 30.0 for o in response["outages"])
    # A period: the outages that began in it.
    since, until = now - timedelta(days=30), now - timedelta(days=10)
    response = await cold_chain_record(mqtt_hass, entry, since=since, until=until)
    assert [o["outage_start"] for o in response["outages"]] == [
        s.isoformat() for s in kept if since <= s <= until
    ]
    await field.publish("sot/kall/freezer/f1/temperature", "-20.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-20.0")
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(mqtt_hass)
    await wait_for(
        mqtt_hass,
        lambda: len(hass_storage[key]["data"]["records"]) == len(kept),
        "the pruned records to be saved",
    )


async def test_a_damaged_stored_record_is_skipped_not_the_year(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = site_entry()
    key = f"sot.{entry.entry_id}.coldchain"
    good = _record(datetime.now(UTC) - timedelta(days=3))
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"version": 1, "records": [{"start": "yesterday"}, good]},
    }
    coordinator = await start_site(mqtt_hass, field, entry)
    assert [r.as_dict()["start"] for r in coordinator.site.coldchain.records] == [good["start"]]
    assert "a stored cold-chain record is damaged" in caplog.text


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("highest", "nan"),
        ("above_warning", "inf"),
        ("measured", -1e300),
        ("highest_at", "9999-12-31T23:59:59+00:00"),
        ("door_openings", 10**16),
    ],
)
async def test_a_stored_record_with_a_figure_not_finite_is_skipped(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    field_name: str,
    value: Any,
) -> None:
    """A record is evidence for an inspector: a highest temperature of nan °C or infinite
    minutes above the warning limit is no figure to hand over, nor to fail the CSV on."""
    entry = site_entry()
    key = f"sot.{entry.entry_id}.coldchain"
    good = _record(datetime.now(UTC) - timedelta(days=3))
    damaged = _record(datetime.now(UTC) - timedelta(days=5))
    damaged["freezers"][0][field_name] = value
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"version": 1, "records": [damaged, good]},
    }
    await start_site(mqtt_hass, field, entry)
    response = await cold_chain_record(mqtt_hass, entry)
    assert [o["outage_start"] for o in response["outages"]] == [good["start"]]
    told = [r for r in caplog.records if "a stored cold-chain record is damaged" in r.message]
    assert len(told) == 1


async def test_the_action_refuses_what_is_not_a_running_site(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    with pytest.raises(ServiceValidationError) as unknown:
        await mqtt_hass.services.async_call(
            DOMAIN,
            "cold_chain_record",
            {"config_entry_id": "no-such-entry"},
            blocking=True,
            return_response=True,
        )
    assert unknown.value.translation_key == "site_not_found"
    other = MockConfigEntry(domain="mqtt_statestream", title="Other")
    other.add_to_hass(mqtt_hass)
    with pytest.raises(ServiceValidationError):
        await mqtt_hass.services.async_call(
            DOMAIN,
            "cold_chain_record",
            {"config_entry_id": other.entry_id},
            blocking=True,
            return_response=True,
        )
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as stopped:
        await mqtt_hass.services.async_call(
            DOMAIN,
            "cold_chain_record",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert stopped.value.translation_key == "site_not_loaded"
    assert stopped.value.translation_placeholders == {"site": "Kall"}


async def test_csv_download_with_a_login_or_the_signed_link(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    await mqtt_hass.config.async_set_time_zone("Europe/Stockholm")
    entry = site_entry()
    await start_site(mqtt_hass, field, entry, freezer)
    began = await storm(mqtt_hass, freezer, field)
    path = f"/api/sot/{entry.entry_id}/coldchain/{outage_key(began)}.csv"

    client = await hass_client()
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="kall-coldchain-{outage_key(began)}.csv"'
    )
    body = await response.text(encoding="utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(body.removeprefix("\ufeff").splitlines()))
    (row,) = rows
    assert row["site"] == "Kall"
    assert row["outage_start"] == began.astimezone(STOCKHOLM).isoformat(timespec="seconds")
    assert row["freezer_name"] == "Frys 1"
    assert row["highest_c"] == "-11"
    assert row["door_openings"] == "1"
    assert row["minutes_without_data"] == "0"

    # All records of the site in one file.
    everything = await client.get(f"/api/sot/{entry.entry_id}/coldchain.csv")
    assert everything.status == 200
    assert (await everything.text()).count("\r\n") == 2

    # Unknown outage, unknown site.
    assert (
        await client.get(f"/api/sot/{entry.entry_id}/coldchain/20200101T000000Z.csv")
    ).status == 404
    assert (await client.get("/api/sot/nope/coldchain.csv")).status == 404

    # Without a login: refused, unless through the signed link the sensor shows.
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(path)).status == 401
    attributes = mqtt_hass.states.get(RECORD).attributes  # type: ignore[union-attr]
    signed = await anonymous.get(attributes["csv_url"])
    assert signed.status == 200
    assert (await signed.text()).removeprefix("\ufeff") == body.removeprefix("\ufeff")
    signed_all = await anonymous.get(attributes["all_csv_url"])
    assert signed_all.status == 200


async def test_a_download_keeps_the_sites_own_letters_in_its_file_name(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """A site named Kälarne Handel saves its log as kälarne-handel-coldchain-all.csv: the
    header carries the name in RFC 6266's UTF-8 form, which browsers use, beside a plain
    ASCII one for those that do not read it (a raw ä in a header reads "Ã¤" in a browser)."""
    entry = site_entry(title="Kälarne Handel")
    await start_site(mqtt_hass, field, entry, freezer)
    await storm(mqtt_hass, freezer, field)
    client = await hass_client()
    response = await client.get(f"/api/sot/{entry.entry_id}/coldchain.csv")
    assert response.status == 200
    header = response.headers["Content-Disposition"]
    assert header.isascii(), header
    star = header.split("filename*=", 1)[1]
    assert star.startswith("UTF-8''")
    assert unquote(star.removeprefix("UTF-8''")) == "kälarne-handel-coldchain-all.csv"
    assert 'filename="kalarne-handel-coldchain-all.csv"' in header


async def test_a_freezer_that_stayed_cold_has_no_back_below_warning_time(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """Freezer f2 held −20 °C through the storm that took f1 to −11 °C: its line leaves
    `back_below_warning_at` empty (in the sensor, the action and the CSV), as an inspector
    would read a time there as the freezer having been above its warning limit."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/freezer/f2/temperature", "-20.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f2_temperature", "-20.0")
    began = await storm(mqtt_hass, freezer, field)
    record = entry.runtime_data.site.coldchain.records[0]
    assert record.closed is not None

    lines = {f["freezer_id"]: f for f in mqtt_hass.states.get(RECORD).attributes["freezers"]}  # type: ignore[union-attr]
    # f1 was above −15 °C until it cooled to −15 °C, 4 steps after the grid came back.
    assert lines["f1"]["back_below_warning_at"] == (began + 35 * STEP).isoformat()
    assert lines["f2"]["highest_temperature"] == -20.0
    assert lines["f2"]["back_below_warning_at"] is None
    (outage,) = (await cold_chain_record(mqtt_hass, entry))["outages"]
    returned = {f["freezer_id"]: f for f in outage["freezers"]}
    assert returned["f2"]["back_below_warning_at"] is None
    assert returned["f1"]["back_below_warning_at"] is not None

    client = await hass_client()
    body = await (await client.get(f"/api/sot/{entry.entry_id}/coldchain.csv")).text()
    rows = {r["freezer_id"]: r for r in csv.DictReader(body.removeprefix("\ufeff").splitlines())}
    assert rows["f2"]["back_below_warning_at"] == ""
    assert rows["f1"]["back_below_warning_at"] != ""


async def test_csv_for_a_spreadsheet_in_sweden(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """Excel in Sweden takes a semicolon between fields and a comma in decimals: with Home
    Assistant in Swedish the file is written so; in English, commas and points."""
    await mqtt_hass.config.async_set_time_zone("Europe/Stockholm")
    entry = site_entry()
    await start_site(mqtt_hass, field, entry, freezer)
    began = await storm(mqtt_hass, freezer, field)
    path = f"/api/sot/{entry.entry_id}/coldchain/{outage_key(began)}.csv"
    client = await hass_client()
    english = (await (await client.get(path)).text(encoding="utf-8")).removeprefix("\ufeff")

    await mqtt_hass.config.async_update(language="sv")
    swedish = (await (await client.get(path)).text(encoding="utf-8")).removeprefix("\ufeff")
    assert swedish.startswith("site;outage_start;power_restored;record_closed;freezer_id;")
    (row,) = csv.DictReader(swedish.splitlines(), delimiter=";")
    (reference,) = csv.DictReader(english.splitlines())
    minutes_above = reference["minutes_above_warning"]
    assert "." in minutes_above
    assert row["minutes_above_warning"] == minutes_above.replace(".", ",")
    assert row["outage_start"] == began.astimezone(STOCKHOLM).isoformat(timespec="seconds")
    assert row == {name: value.replace(".", ",") for name, value in reference.items()} | {
        "outage_start": reference["outage_start"],
        "power_restored": reference["power_restored"],
        "record_closed": reference["record_closed"],
        "highest_at": reference["highest_at"],
        "back_below_warning_at": reference["back_below_warning_at"],
    }


async def test_a_signed_link_is_kept_until_half_its_day_is_gone(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The sensor shows the same link for twelve hours, so its state does not churn."""
    assert await async_setup_component(hass, "http", {})
    first = signed_link(hass, "/api/sot/x/coldchain.csv")
    assert first is not None
    assert first.startswith("/api/sot/x/coldchain.csv?authSig=")
    freezer.tick(timedelta(hours=11, minutes=59))
    assert signed_link(hass, "/api/sot/x/coldchain.csv") == first
    freezer.tick(timedelta(minutes=2))
    assert signed_link(hass, "/api/sot/x/coldchain.csv") not in (None, first)


async def test_no_signed_link_without_the_http_server(hass: HomeAssistant) -> None:
    assert signed_link(hass, "/api/sot/x/coldchain.csv") is None


async def test_readiness_in_the_users_language_and_the_service_date_setting(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    await mqtt_hass.config.async_set_time_zone("Europe/Stockholm")
    entry = site_entry(stale_timeout=3600)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish(
        "sot/kall/generator/main",
        json.dumps({"state": "stopped", "alarm": "ok", "battery_voltage": 11.9}),
    )
    await wait_for_state(mqtt_hass, "sensor.kall_generator_battery_voltage", "11.9")
    state = await wait_for_state(mqtt_hass, READINESS, "not_ready")
    assert state.attributes["texts"][0] == (
        "Generator: starter battery 11.9 V at rest, below 12.2 V"
    )
    # The user's language, after the entity ids were made (they follow the language too).
    mqtt_hass.config.language = "sv"
    # The site's figures are worked out again at most once a second (hot path): a moment on.
    freezer.tick(timedelta(seconds=1))
    await field.publish("sot/kall/generator/main/alarm", "ok")
    await wait_for(
        mqtt_hass,
        lambda: "Elverket" in mqtt_hass.states.get(READINESS).attributes["texts"][0],  # type: ignore[union-attr]
        "the texts in Swedish",
    )
    state = mqtt_hass.states.get(READINESS)
    assert state is not None
    assert state.attributes["texts"] == [
        "Elverket: startbatteriet 11,9 V i vila, under 12,2 V",
        "Timmar bränsle vid normal last ännu okänt",
    ]
    assert state.attributes["reasons"][0] == {
        "reason": "battery_low",
        "grade": "not_ready",
        "kind": "generator",
        "component_id": "main",
        "voltage": 11.9,
        "limit": 12.2,
    }
    freezer.tick(timedelta(seconds=1))
    await field.publish("sot/kall/generator/main/battery_voltage", "13.4")
    await wait_for_state(mqtt_hass, READINESS, "check")

    # The service date, set in the options: due from that day, in local time.
    today = dt_util.now().date()
    for due, shown in ((str(today + timedelta(days=1)), False), (str(today), True)):
        result = await mqtt_hass.config_entries.options.async_init(entry.entry_id)
        result = await mqtt_hass.config_entries.options.async_configure(
            result["flow_id"], {**entry.options, "service_due_date": due}
        )
        assert entry.options["service_due_date"] == due
        await mqtt_hass.async_block_till_done()
        state = mqtt_hass.states.get(READINESS)
        assert state is not None
        assert (f"Service av elverket senast {due}" in state.attributes["texts"]) is shown
    # Cleared: not set.
    result = await mqtt_hass.config_entries.options.async_init(entry.entry_id)
    options = {k: v for k, v in entry.options.items() if k != "service_due_date"}
    await mqtt_hass.config_entries.options.async_configure(result["flow_id"], options)
    await mqtt_hass.async_block_till_done()
    assert "service_due_date" not in entry.options
    assert mqtt_hass.states.get(READINESS).attributes["reasons"][-1]["reason"] == "fuel_unknown"  # type: ignore[union-attr]
