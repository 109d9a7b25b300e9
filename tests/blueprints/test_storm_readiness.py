"""Storm readiness blueprint: a weather warning sends the site's readiness, and a test run.

The warnings are the kinds people already have in Home Assistant, set up for real:

- Home Assistant's own MeteoAlarm binary sensor (`meteoalarm`), reading a MeteoAlarm feed and
  its CAP warning served from the test (the library's feed address pointed at it);
- a template binary sensor on a weather entity's wind gusts, as one would make on the SMHI
  integration's weather entity (which has no warning entity of its own); the weather entity
  is a state set in the test with the attributes SMHI's gives;
- an input_boolean switched by hand, for a drill.

The readiness sensor, the generator's start button and running sensor are states set in the
test, the sensor registered on a device named Kall as the integration registers it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CoreState, HomeAssistant, ServiceCall, State, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
    mock_restore_cache,
)

from ..helpers import site_entry, start_site, wait_for_state, wait_for_thread
from .conftest import (
    START,
    Clock,
    Notification,
    Phones,
    save_an_edit,
    setup_blueprint_automation,
)
from .test_ha_lines import ha_line  # noqa: F401  (a fixture)

READINESS = "sensor.kall_storm_readiness"
SMHI = "weather.smhi_kall"
GUSTS = f"{{{{ state_attr('{SMHI}', 'wind_gust_speed') | float(0) >= 25 }}}}"
BUTTON = "button.kall_generator_start"
RUNNING = "binary_sensor.kall_generator_running"
PIXEL = "mobile_app_pixel_7"
IPHONE = "mobile_app_annas_iphone"
TEXTS = [
    "Elverket: startbatteriet 11,9 V i vila, under 12,2 V",
    "Elverket har inte gått på 34 dagar",
]
# START (frozen) as a Unix time: the test-run action id carries it.
STAMP_AT_START = 1795341600


@pytest.fixture
def site(hass: HomeAssistant, phones: Phones) -> Phones:
    """Kall's readiness sensor on Kall's device, its start button, and two phones."""
    entry = MockConfigEntry(domain="sot", title="Kall")
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("sot", "kall")}, name="Kall"
    )
    er.async_get(hass).async_get_or_create(
        "sensor",
        "sot",
        "kall_readiness",
        suggested_object_id="kall_storm_readiness",
        config_entry=entry,
        device_id=device.id,
    )
    readiness(hass, "not_ready", TEXTS)
    hass.states.async_set(BUTTON, STATE_UNKNOWN)
    hass.states.async_set(RUNNING, STATE_OFF)
    phones.add("Pixel 7")
    phones.add("Annas iPhone")
    return phones


def readiness(hass: HomeAssistant, state: str, texts: list[str]) -> None:
    hass.states.async_set(READINESS, state, {"texts": texts, "reasons": []})


@pytest.fixture
def presses(hass: HomeAssistant) -> list[tuple[float, str]]:
    """The generator start button's presses (seconds since START, entity)."""
    pressed: list[tuple[float, str]] = []

    @callback
    def press(call: ServiceCall) -> None:
        at = round((dt_util.utcnow() - START).total_seconds(), 1)
        for entity_id in cv.comp_entity_ids(call.data["entity_id"]):
            pressed.append((at, entity_id))

    hass.services.async_register("button", "press", press)
    return pressed


async def setup_readiness(hass: HomeAssistant, phones: Phones, **inputs: Any) -> None:
    await setup_blueprint_automation(
        hass,
        "storm_readiness.yaml",
        {
            "warning_entities": inputs.pop("warning_entities", ["input_boolean.storm_drill"]),
            "readiness_entity": READINESS,
            "notify_devices": list(phones.device_ids.values()),
            **inputs,
        },
    )


async def drill(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"storm_drill": {"name": "Stormövning"}}}
    )


def to_both(at: float, title: str, message: str, data: dict[str, Any]) -> list[Notification]:
    content = {"title": title, "message": message, "data": data}
    return [Notification(at, PIXEL, content), Notification(at, IPHONE, content)]


# -- MeteoAlarm, for real ---------------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <title>MeteoAlarm Sweden</title>
  <entry>
    <title>{title}</title>
    <cap:areaDesc>{area}</cap:areaDesc>
    <cap:geocode><valueName>EMMA_ID</valueName><value>{code}</value></cap:geocode>
    <link href="https://meteoalarm.org/en/live/region/SE" type="text/html"/>
    <link href="{base}/cap/storm.xml" type="application/cap+xml"/>
  </entry>
</feed>
"""
CAP = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>2.49.0.0.752.0.SE.261122.storm</identifier>
  <sender>smhi.se</sender>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>sv-SE</language>
    <event>Mycket hög vind</event>
    <severity>Severe</severity>
    <headline>Orange varning – Mycket hög vind, Jämtlands län</headline>
    <onset>2026-11-22T12:00:00+01:00</onset>
    <expires>2026-11-23T06:00:00+01:00</expires>
    <parameter><valueName>awareness_level</valueName><value>3; orange; Severe</value></parameter>
    <parameter><valueName>awareness_type</valueName><value>1; Wind</value></parameter>
  </info>
  <info>
    <language>en-GB</language>
    <event>Very strong wind</event>
    <severity>Severe</severity>
    <headline>Orange warning – Very strong wind, Jämtland County</headline>
    <onset>2026-11-22T12:00:00+01:00</onset>
    <expires>2026-11-23T06:00:00+01:00</expires>
    <parameter><valueName>awareness_level</valueName><value>3; orange; Severe</value></parameter>
    <parameter><valueName>awareness_type</valueName><value>1; Wind</value></parameter>
  </info>
</alert>
"""


class MeteoAlarmFeed:
    """MeteoAlarm's legacy Atom feed for Sweden and one CAP warning, served on loopback."""

    def __init__(self) -> None:
        self.area = "Skåne län"
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.endswith("meteoalarm-legacy-atom-sweden"):
                    body = FEED.format(
                        title="Orange warning",
                        area=feed.area,
                        code="SE023" if feed.area == "Jämtlands län" else "SE012",
                        base=feed.base,
                    )
                elif self.path == "/cap/storm.xml":
                    body = CAP
                else:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def warn(self, area: str) -> None:
        """The next fetch finds the warning for `area`."""
        self.area = area


@pytest.fixture
def meteoalarm_feed(socket_enabled: None) -> Iterator[MeteoAlarmFeed]:
    feed = MeteoAlarmFeed()
    feed.thread.start()
    from meteoalertapi import Meteoalert  # noqa: PLC0415  (only with the MeteoAlarm tests)

    endpoint = f"{feed.base}/feeds/meteoalarm-legacy-atom-{{0}}"
    with patch.object(Meteoalert, "endpoint", endpoint):
        yield feed
    feed.server.shutdown()
    feed.server.server_close()
    feed.thread.join()


async def test_a_meteoalarm_warning_sends_the_readiness_and_offers_a_test_run(
    hass: HomeAssistant,
    clock: Clock,
    site: Phones,
    presses: list[tuple[float, str]],
    meteoalarm_feed: MeteoAlarmFeed,
) -> None:
    """The real MeteoAlarm sensor turns on for Jämtland; the phones get the readiness with a
    "Provkör" button; a tap starts the generator and says so."""
    assert await async_setup_component(
        hass,
        "binary_sensor",
        {
            "binary_sensor": [
                {
                    "platform": "meteoalarm",
                    "country": "sweden",
                    "province": "Jämtlands län",
                    "language": "en-GB",
                    "name": "MeteoAlarm Jämtland",
                }
            ]
        },
    )
    await hass.async_block_till_done()
    warning = "binary_sensor.meteoalarm_jamtland"
    assert hass.states.get(warning).state == STATE_OFF  # type: ignore[union-attr]
    await setup_readiness(
        hass,
        site,
        warning_entities=[warning],
        test_run_button=BUTTON,
        generator_running=RUNNING,
    )

    # MeteoAlarm polls every five minutes; Jämtland's warning is in the next feed.
    meteoalarm_feed.warn("Jämtlands län")
    await clock.advance(300, step=30)
    # The poll fetches the feed in a worker thread, in the background.
    await wait_for_thread(hass, lambda: hass.states.is_state(warning, STATE_ON), "the warning")
    state = hass.states.get(warning)
    assert state is not None
    assert state.attributes["awareness_level"] == "3; orange; Severe"
    await clock.settle()
    action = f"SOT_TEST_RUN_KALL_STORM_READINESS_UNDER_TEST_{STAMP_AT_START + 300}"
    sent = site.take()
    assert sent == to_both(
        300.0,
        "Kall: Vädervarning – inte redo",
        "Orange warning – Very strong wind, Jämtland County.\n"
        "Se till:\n"
        "• Elverket: startbatteriet 11,9 V i vila, under 12,2 V\n"
        "• Elverket har inte gått på 34 dagar\n"
        "Tryck Provkör för att provstarta elverket.",
        {
            "tag": "sot-kall_storm_readiness",
            "group": "sot-readiness",
            "actions": [{"action": action, "title": "Provkör"}],
        },
    )
    assert presses == []

    # The operator taps "Provkör" twenty minutes later.
    await clock.advance(1200, step=60)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == [(1500.0, BUTTON)]
    assert [(n.service, n.data["message"].splitlines()[-1]) for n in site.take()] == [
        (PIXEL, "Provstart skickad till elverket."),
        (IPHONE, "Provstart skickad till elverket."),
    ]

    # The warning stays on through the next polls: nothing more is sent.
    await clock.advance(900, step=60)
    assert site.take() == []


# -- SMHI's weather through a template, and a drill ----------------------------------------


async def test_a_template_warning_on_smhi_gusts_in_english_starts_the_test_run_at_once(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    """Gusts of 25 m/s or more in SMHI's forecast turn a template binary sensor on."""
    smhi = SMHI
    attributes = {"wind_speed": 9.0, "wind_gust_speed": 14.0, "wind_speed_unit": "m/s"}
    hass.states.async_set(smhi, "cloudy", attributes)
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "binary_sensor": [
                        {
                            "name": "Storm gusts Kall",
                            "state": GUSTS,
                            "device_class": "safety",
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()
    warning = "binary_sensor.storm_gusts_kall"
    assert hass.states.get(warning).state == STATE_OFF  # type: ignore[union-attr]
    readiness(hass, "ready", [])
    await setup_readiness(
        hass,
        site,
        warning_entities=[warning],
        language="en",
        test_run_button=BUTTON,
        test_run="start",
    )
    hass.states.async_set(smhi, "windy", {**attributes, "wind_gust_speed": 27.5})
    await clock.settle()
    assert presses == [(0.0, BUTTON)]
    assert site.take() == to_both(
        0.0,
        "Kall: Weather warning – ready",
        "Storm gusts Kall.\nAll set for a power cut.\n"
        "The generator is being started for a test run.",
        {"tag": "sot-kall_storm_readiness", "group": "sot-readiness"},
    )


async def test_a_drill_without_a_button_only_reports(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    await drill(hass)
    readiness(hass, "check", ["Frys f2 håller −16,4 °C, över −18 °C i 1,5 h"])
    posted = async_mock_service(hass, "persistent_notification", "create")
    await setup_readiness(hass, site, show_in_home_assistant=True)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    title = "Kall: Vädervarning – kontrollera"
    message = "Stormövning.\nSe till:\n• Frys f2 håller −16,4 °C, över −18 °C i 1,5 h"
    assert site.take() == to_both(
        0.0, title, message, {"tag": "sot-kall_storm_readiness", "group": "sot-readiness"}
    )
    assert presses == []
    assert [call.data for call in posted] == [
        {"notification_id": "sot-kall_storm_readiness", "title": title, "message": message}
    ]


@pytest.mark.parametrize(
    ("button_state", "running", "test_run"),
    [
        (STATE_UNKNOWN, STATE_ON, "start"),  # already running: no test run
        (STATE_UNAVAILABLE, STATE_OFF, "start"),  # control off or the controller unreachable
        (STATE_UNKNOWN, STATE_OFF, "off"),
    ],
)
async def test_no_test_run_when_it_cannot_or_should_not_start(
    hass: HomeAssistant,
    clock: Clock,
    site: Phones,
    presses: list[tuple[float, str]],
    button_state: str,
    running: str,
    test_run: str,
) -> None:
    await drill(hass)
    hass.states.async_set(BUTTON, button_state)
    hass.states.async_set(RUNNING, running)
    await setup_readiness(
        hass, site, test_run_button=BUTTON, generator_running=RUNNING, test_run=test_run
    )
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.advance(3600, step=60)
    sent = site.take()
    assert [n.service for n in sent] == [PIXEL, IPHONE]
    assert "actions" not in sent[0].data["data"]
    assert "Provkör" not in sent[0].data["message"]
    assert "provstartas" not in sent[0].data["message"]
    assert presses == []


async def test_the_offer_ends_and_a_late_tap_or_a_started_generator_starts_nothing(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    await drill(hass)
    await setup_readiness(hass, site, test_run_button=BUTTON, generator_running=RUNNING, ask_for=30)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    action = site.take()[0].data["data"]["actions"][0]["action"]
    await clock.advance(1801, step=60)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == []
    assert site.take() == []

    # Offered again with the next warning; the generator starts by itself before the tap.
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    action = site.take()[0].data["data"]["actions"][0]["action"]
    hass.states.async_set(RUNNING, STATE_ON)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == []


def controller_refuses(hass: HomeAssistant) -> list[float]:
    """The start button raises as the integration's does when the controller refuses."""
    tried: list[float] = []

    async def refused(call: ServiceCall) -> None:
        tried.append(round((dt_util.utcnow() - START).total_seconds(), 1))
        raise HomeAssistantError("Could not send the command to Kall generator: refused")

    hass.services.async_register("button", "press", refused)
    return tried


async def test_a_start_the_controller_refuses_still_sends_the_readiness_and_says_so(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """Start at once, refused: the readiness goes out, saying no test run was started and
    what to do, not that the generator is being started."""
    tried = controller_refuses(hass)
    await drill(hass)
    await setup_readiness(hass, site, test_run_button=BUTTON, test_run="start")
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    assert tried == [0.0]
    assert site.take() == to_both(
        0.0,
        "Kall: Vädervarning – inte redo",
        "Stormövning.\n"
        "Se till:\n"
        "• Elverket: startbatteriet 11,9 V i vila, under 12,2 V\n"
        "• Elverket har inte gått på 34 dagar\n"
        "Elverket vägrade starten: ingen provkörning gjordes. "
        "Se varför i Home Assistants logg och provkör elverket på plats.",
        {"tag": "sot-kall_storm_readiness", "group": "sot-readiness"},
    )


@pytest.mark.parametrize(
    ("language", "told"),
    [
        (
            "en",
            "The generator refused the start: no test run was made. "
            "See why in Home Assistant's log, and test-run the generator at the site.",
        ),
        (
            "nb",
            "Aggregatet avviste starten: ingen prøvekjøring ble gjort. "
            "Se hvorfor i Home Assistants logg, og prøvekjør aggregatet på stedet.",
        ),
    ],
)
async def test_a_tapped_start_the_controller_refuses_is_told_to_the_phones(
    hass: HomeAssistant, clock: Clock, site: Phones, language: str, told: str
) -> None:
    """Before, the refusal ended the run: the tap was followed by nothing at all."""
    tried = controller_refuses(hass)
    await drill(hass)
    await setup_readiness(hass, site, language=language, test_run_button=BUTTON)
    action = await warn(hass, clock, site)
    await clock.advance(600, step=60)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert tried == [600.0]
    sent = site.take()
    assert [(n.at, n.service, n.data["message"].splitlines()[-1]) for n in sent] == [
        (600.0, PIXEL, told),
        (600.0, IPHONE, told),
    ]
    assert sent[0].data["data"] == {"tag": "sot-kall_storm_readiness", "group": "sot-readiness"}


async def warn(hass: HomeAssistant, clock: Clock, site: Phones) -> str:
    """The drill's warning goes out offering a test run: the offer's action id."""
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    sent = site.take()
    assert [n.service for n in sent] == [PIXEL, IPHONE]
    return str(sent[0].data["data"]["actions"][0]["action"])


def last_lines(site: Phones) -> list[tuple[float, str, str]]:
    return [(n.at, n.service, n.data["message"].splitlines()[-1]) for n in site.take()]


SENT = "Provstart skickad till elverket."


def drill_inputs(site: Phones, **more: Any) -> dict[str, Any]:
    """The blueprint's inputs for the drill's warning, both phones and the start button."""
    return {
        "warning_entities": ["input_boolean.storm_drill"],
        "readiness_entity": READINESS,
        "notify_devices": list(site.device_ids.values()),
        "test_run_button": BUTTON,
        **more,
    }


async def test_a_tap_after_the_automation_is_reloaded_starts_the_test_run_once(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    """The automation is edited while the offer is out: a tap still starts the test run, and
    only the first of the two phones' taps does, also across a further reload."""
    await drill(hass)
    inputs = drill_inputs(site, generator_running=RUNNING)
    await setup_blueprint_automation(hass, "storm_readiness.yaml", inputs)
    action = await warn(hass, clock, site)
    assert action == f"SOT_TEST_RUN_KALL_STORM_READINESS_UNDER_TEST_{STAMP_AT_START}"
    await clock.advance(600, step=60)
    # An unchanged automation is left running by a reload: the offer is cut to 45 minutes.
    await save_an_edit(hass, clock, "storm_readiness.yaml", {**inputs, "ask_for": 45})
    await clock.advance(600, step=60)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == [(1200.0, BUTTON)]
    assert last_lines(site) == [(1200.0, PIXEL, SENT), (1200.0, IPHONE, SENT)]

    # Anna taps on her phone too, after another edit: the offer was taken.
    await clock.advance(60, step=60)
    await save_an_edit(hass, clock, "storm_readiness.yaml", {**inputs, "ask_for": 50})
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == [(1200.0, BUTTON)]
    assert site.take() == []


async def test_a_tap_after_home_assistant_restarts_starts_the_test_run_once(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    """The offer went out at START; Home Assistant restarts five minutes later, its warning
    and the automation's last trigger restored. A tap then starts the test run, once, though
    both phones tap at the same moment."""
    mock_restore_cache(
        hass,
        [
            State("input_boolean.storm_drill", STATE_ON),
            State("automation.under_test", STATE_ON, {"last_triggered": START.isoformat()}),
        ],
    )
    await clock.advance(300, step=60)
    hass.set_state(CoreState.not_running)
    await drill(hass)
    await setup_readiness(hass, site, test_run_button=BUTTON, generator_running=RUNNING)
    await hass.async_start()
    await clock.settle()
    assert hass.states.is_state("input_boolean.storm_drill", STATE_ON)
    assert site.take() == []  # the restored warning is not sent again

    await clock.advance(900, step=60)
    action = f"SOT_TEST_RUN_KALL_STORM_READINESS_UNDER_TEST_{STAMP_AT_START}"
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == [(1200.0, BUTTON)]
    assert last_lines(site) == [(1200.0, PIXEL, SENT), (1200.0, IPHONE, SENT)]


@pytest.mark.parametrize("since", ["warning over", "newer warning", "test run off"])
async def test_a_tap_on_an_offer_that_no_longer_stands_starts_nothing(
    hass: HomeAssistant,
    clock: Clock,
    site: Phones,
    presses: list[tuple[float, str]],
    since: str,
) -> None:
    """After a reload, as with none: a tap on an offer whose warning has ended, that a newer
    warning replaced, or whose test runs were turned off starts nothing."""
    await drill(hass)
    inputs = drill_inputs(site)
    await setup_blueprint_automation(hass, "storm_readiness.yaml", inputs)
    action = await warn(hass, clock, site)
    await clock.advance(600, step=60)
    if since == "warning over":
        await hass.services.async_call(
            "input_boolean", "turn_off", {"entity_id": "input_boolean.storm_drill"}, blocking=True
        )
    elif since == "newer warning":
        await hass.services.async_call(
            "input_boolean", "turn_off", {"entity_id": "input_boolean.storm_drill"}, blocking=True
        )
        newer = await warn(hass, clock, site)
        assert newer != action
    else:
        inputs["test_run"] = "off"
    await save_an_edit(hass, clock, "storm_readiness.yaml", inputs)
    await clock.advance(60, step=60)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == []
    assert site.take() == []


async def test_other_taps_leave_the_offer_standing(
    hass: HomeAssistant,
    clock: Clock,
    site: Phones,
    presses: list[tuple[float, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Taps on other notifications (an outage alert's acknowledgement, another site's offer)
    do not run the automation: the offer still starts the test run when tapped."""
    await drill(hass)
    await setup_readiness(hass, site, test_run_button=BUTTON)
    action = await warn(hass, clock, site)
    await clock.advance(300, step=60)
    for other in (
        {"action": "SOT_ACK_KALL_ALARMS_2026_11_22T10_04_00"},
        {"action": f"SOT_TEST_RUN_HOGBERG_STORM_READINESS_UNDER_TEST_{STAMP_AT_START}"},
        {"action": f"{action}9"},
        {},
    ):
        hass.bus.async_fire("mobile_app_notification_action", other)
    await clock.settle()
    assert presses == []
    assert site.take() == []
    await clock.advance(300, step=60)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == [(600.0, BUTTON)]
    assert "Error" not in caplog.text


async def test_a_tap_while_the_controller_is_out_of_reach_says_so_and_presses_nothing(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    """The start button goes unavailable between the offer and the tap (the controller's link
    lost): nothing is pressed, and the phone is not told a start was sent."""
    await drill(hass)
    await setup_readiness(hass, site, language="en", test_run_button=BUTTON)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    action = site.take()[0].data["data"]["actions"][0]["action"]
    await clock.advance(1200, step=60)
    hass.states.async_set(BUTTON, STATE_UNAVAILABLE)
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()
    assert presses == []
    told = {n.data["message"].splitlines()[-1] for n in site.take()}
    assert told == {"The generator could not be reached: no test run was started."}


async def test_a_warning_restored_at_start_or_changing_attributes_is_not_a_new_warning(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    warning = "binary_sensor.meteoalarm"
    hass.states.async_set(warning, STATE_UNAVAILABLE)
    await setup_readiness(hass, site, warning_entities=[warning])
    hass.states.async_set(warning, STATE_ON, {"headline": "Gul varning"})
    await clock.settle()
    hass.states.async_set(warning, STATE_ON, {"headline": "Orange varning"})
    await clock.settle()
    assert site.take() == []
    # Off, then on again: a new warning.
    hass.states.async_set(warning, STATE_OFF)
    hass.states.async_set(warning, STATE_ON, {"headline": "Röd varning"})
    await clock.settle()
    assert [n.data["message"].splitlines()[0] for n in site.take()] == ["Röd varning."] * 2


async def test_a_warning_on_through_a_reload_of_its_integration_is_not_sent_again(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """Reloading template entities re-adds the gust sensor, still on: nothing is sent again."""
    hass.states.async_set(SMHI, "windy", {"wind_gust_speed": 27.5})
    config = {"template": [{"binary_sensor": [{"name": "Storm gusts Kall", "state": GUSTS}]}]}
    assert await async_setup_component(hass, "template", config)
    await hass.async_block_till_done()
    warning = "binary_sensor.storm_gusts_kall"
    assert hass.states.is_state(warning, STATE_ON)
    await setup_readiness(hass, site, warning_entities=[warning])
    with patch("homeassistant.config.load_yaml_config_file", return_value=config):
        await hass.services.async_call("template", "reload", blocking=True)
    await clock.settle()
    assert hass.states.is_state(warning, STATE_ON)
    assert site.take() == []


@pytest.mark.parametrize(
    ("language", "title", "last_line"),
    [
        (
            "en",
            "Kall: Weather warning – readiness unknown",
            "The site's readiness is unknown: check that it reports.",
        ),
        (
            "nb",
            "Kall: Farevarsel – beredskap ukjent",
            "Stedets beredskap er ukjent: kontroller at det rapporterer.",
        ),
    ],
)
async def test_unknown_readiness_says_so(
    hass: HomeAssistant, clock: Clock, site: Phones, language: str, title: str, last_line: str
) -> None:
    await drill(hass)
    hass.states.async_set(READINESS, STATE_UNAVAILABLE)
    await setup_readiness(hass, site, language=language)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    (first, _) = site.take()
    assert first.data["title"] == title
    assert first.data["message"].endswith(last_line)


async def test_a_phone_the_app_cannot_reach_does_not_keep_the_readiness_from_the_others(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    site.device_ids = {"Tablet": site.add("Tablet"), **site.device_ids}

    async def unreachable(call: ServiceCall) -> None:
        raise HomeAssistantError("Device not connected to local push notifications")

    hass.services.async_register("notify", "mobile_app_tablet", unreachable)
    await drill(hass)
    await setup_readiness(hass, site)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    assert [n.service for n in site.take()] == [PIXEL, IPHONE]


async def test_readiness_reaches_every_phone_with_the_app(
    hass: HomeAssistant,
    ha_line: str,  # noqa: F811
    clock: Clock,
    phones: Phones,
) -> None:
    """On both template forms: the phone without the app is skipped."""
    phones.add("Pixel 7")
    phones.add("Old tablet", app_loaded=False)
    readiness(hass, "ready", [])
    await drill(hass)
    await setup_readiness(hass, phones)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    sent = phones.take()
    assert [n.service for n in sent] == [PIXEL]
    # No device or name for the readiness sensor here: "SOT" stands in for the site.
    assert sent[0].data["title"] == "SOT: Vädervarning – redo"


async def test_a_tap_starts_only_the_automation_that_made_the_offer(
    hass: HomeAssistant, clock: Clock, site: Phones, presses: list[tuple[float, str]]
) -> None:
    """Two automations on Kall's readiness, each to its own phone in its own language: a tap
    on one's offer presses the button once, and only that one's phone hears of it."""
    await drill(hass)
    volunteers = {**drill_inputs(site), "notify_devices": [site.device_ids["Pixel 7"]]}
    county = {
        **drill_inputs(site),
        "notify_devices": [site.device_ids["Annas iPhone"]],
        "language": "en",
    }
    automations = [
        {"id": name, "alias": name, "use_blueprint": {"path": path, "input": inputs}}
        for name, path, inputs in (
            ("volunteers", "sot/storm_readiness.yaml", volunteers),
            ("county", "sot/storm_readiness.yaml", county),
        )
    ]
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
    )
    await clock.settle()
    offers = {n.service: n.data["data"]["actions"][0]["action"] for n in site.take()}
    assert offers == {
        PIXEL: f"SOT_TEST_RUN_KALL_STORM_READINESS_VOLUNTEERS_{STAMP_AT_START}",
        IPHONE: f"SOT_TEST_RUN_KALL_STORM_READINESS_COUNTY_{STAMP_AT_START}",
    }
    await clock.advance(60, step=10)
    hass.bus.async_fire("mobile_app_notification_action", {"action": offers[PIXEL]})
    await clock.settle()
    assert presses == [(60.0, BUTTON)]
    assert last_lines(site) == [(60.0, PIXEL, SENT)]


async def test_the_reasons_are_in_the_automations_language_not_home_assistants(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, clock: Clock, phones: Phones
) -> None:
    """Home Assistant in English, the volunteers' phones in Swedish: the real site's readiness
    reaches them with its reasons in Swedish, as the rest of the notification."""
    hass = mqtt_hass
    assert hass.config.language == "en"
    phone = phones.add("Pixel 7")
    entry = site_entry(stale_timeout=3600)
    await start_site(hass, field, entry, clock.freezer)
    try:
        await field.publish(
            "sot/kall/generator/main",
            json.dumps({"state": "stopped", "alarm": "ok", "battery_voltage": 11.9}),
        )
        await wait_for_state(hass, READINESS, "not_ready")
        assert hass.states.get(READINESS).attributes["texts"][0] == (  # type: ignore[union-attr]
            "Generator: starter battery 11.9 V at rest, below 12.2 V"
        )
        await drill(hass)
        await setup_blueprint_automation(
            hass,
            "storm_readiness.yaml",
            {
                "warning_entities": ["input_boolean.storm_drill"],
                "readiness_entity": READINESS,
                "notify_devices": [phone],
                "language": "sv",
            },
        )
        await hass.services.async_call(
            "input_boolean", "turn_on", {"entity_id": "input_boolean.storm_drill"}, blocking=True
        )
        await clock.settle()
        (sent,) = phones.take()
        assert sent.data["title"] == "Kall: Vädervarning – inte redo"
        assert sent.data["message"] == (
            "Stormövning.\n"
            "Se till:\n"
            "• Elverket: startbatteriet 11,9 V i vila, under 12,2 V\n"
            "• Timmar bränsle vid normal last ännu okänt"
        )
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
