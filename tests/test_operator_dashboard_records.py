"""The operator dashboard's readiness alert and cold-chain card, rendered by Home Assistant's
own template engine from the states the integration gives them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template

DASHBOARD = Path(__file__).parent.parent / "dashboards" / "sot_operator.yaml"
RECORD = "sensor.kall_cold_chain_record"


def cards(mentioning: str) -> list[dict[str, Any]]:
    """Markdown cards of the Kall view whose content mentions `mentioning`."""
    view = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))["views"][0]
    found: list[dict[str, Any]] = []

    def walk(card: dict[str, Any]) -> None:
        if card["type"] == "markdown" and mentioning in card["content"]:
            found.append(card)
        for child in card.get("cards", []):
            walk(child)
        if "card" in card:
            walk(card["card"])

    for section in view["sections"]:
        for card in section["cards"]:
            walk(card)
    return found


def shown(hass: HomeAssistant, content: str) -> str:
    text = Template(content, hass).async_render()
    return re.sub(r"\n\s*\n+", "\n", str(text)).strip()


async def test_the_cold_chain_card_links_the_last_outage(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")
    (card,) = cards(RECORD)
    hass.states.async_set(RECORD, "unknown", {"outages_recorded": 0})
    assert shown(hass, card["content"]) == "**Kylkedjelogg:** inga avbrott loggade."
    hass.states.async_set(
        RECORD, "2026-11-22T10:00:00+00:00", {"outage_start": "2026-11-22T10:00:00+00:00"}
    )
    assert "pågår sedan 11:00" in shown(hass, card["content"])
    hass.states.async_set(
        RECORD,
        "2026-11-22T10:00:00+00:00",
        {
            "outage_start": "2026-11-22T10:00:00+00:00",
            "power_restored": "2026-11-22T11:35:00+00:00",
            "freezers": [
                {
                    "freezer_id": "f1",
                    "freezer_name": "Frys 1",
                    "warning_limit": -15.0,
                    "critical_limit": -12.0,
                    "highest_temperature": -13.2,
                    "minutes_above_warning": 41.5,
                    "minutes_above_critical": 0.0,
                    "door_openings": 2,
                }
            ],
            "csv_url": "/api/sot/e1/coldchain/20261122T100000Z.csv?authSig=x",
            "all_csv_url": "/api/sot/e1/coldchain.csv?authSig=y",
        },
    )
    assert shown(hass, card["content"]).splitlines() == [
        "**Kylkedjelogg, avbrottet 2026-11-22 11:00–12:35**",
        "- Frys 1: högst -13.2 °C, 41.5 min över -15.0 °C, 0.0 min över -12.0 °C,"
        " luckan öppnad 2 gånger",
        '<a href="/api/sot/e1/coldchain/20261122T100000Z.csv?authSig=x" target="_blank">'
        'Ladda ner loggen (CSV)</a> · <a href="/api/sot/e1/coldchain.csv?authSig=y"'
        ' target="_blank">Alla avbrott i år (CSV)</a>',
    ]


async def test_the_cold_chain_card_shows_a_freezer_silent_in_the_outage(
    hass: HomeAssistant,
) -> None:
    """Minutes without data are on the card, not only in the file: a freezer that said
    nothing is not shown as if it had kept cold."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    (card,) = cards(RECORD)
    line = {
        "warning_limit": -15.0,
        "critical_limit": -12.0,
        "minutes_above_warning": 0.0,
        "minutes_above_critical": 0.0,
        "door_openings": 0,
    }
    hass.states.async_set(
        RECORD,
        "2026-11-22T10:00:00+00:00",
        {
            "outage_start": "2026-11-22T10:00:00+00:00",
            "power_restored": "2026-11-22T11:35:00+00:00",
            "freezers": [
                line
                | {
                    "freezer_id": "f1",
                    "freezer_name": "Frys 1",
                    "highest_temperature": -17.5,
                    "minutes_without_data": 80.5,
                },
                line
                | {
                    "freezer_id": "f2",
                    "freezer_name": "Frys 2",
                    "highest_temperature": None,
                    "minutes_without_data": 95.0,
                },
                line
                | {
                    "freezer_id": "f3",
                    "freezer_name": "Frys 3",
                    "highest_temperature": -19.0,
                    "minutes_without_data": 0.0,
                },
            ],
            "csv_url": "/x",
            "all_csv_url": "/y",
        },
    )
    assert shown(hass, card["content"]).splitlines()[1:4] == [
        "- Frys 1: högst -17.5 °C, 0.0 min över -15.0 °C, 0.0 min över -12.0 °C,"
        " luckan öppnad 0 gånger, **80.5 min utan mätvärden**",
        "- Frys 2: inga mätvärden, **95.0 min utan mätvärden**",
        "- Frys 3: högst -19.0 °C, 0.0 min över -15.0 °C, 0.0 min över -12.0 °C,"
        " luckan öppnad 0 gånger",
    ]


async def test_the_readiness_alert_lists_the_reasons(hass: HomeAssistant) -> None:
    (card,) = cards("sensor.kall_storm_readiness")
    hass.states.async_set(
        "sensor.kall_storm_readiness",
        "not_ready",
        {
            "texts": [
                "Elverket: startbatteriet 11,9 V i vila, under 12,2 V",
                "Noden frys är frånkopplad",
            ]
        },
    )
    text = shown(hass, card["content"])
    assert 'alert-type="error"' in text
    assert 'title="Stormberedskap: inte redo"' in text
    assert "11,9 V i vila, under 12,2 V<br>Noden frys är frånkopplad" in text


async def test_the_backup_banner_gives_no_figure_it_does_not_have(hass: HomeAssistant) -> None:
    """On backup power with the fuel hours unknown (a second set's controller silent) or
    unavailable (the tank's reading stale), the banner said "Bränsle för 0.0 h": an empty
    tank, to an operator whose tank may hold a day. Nor "sedan 0 min" for an outage that
    cannot be told."""
    (card,) = cards("Reservkraft: Kall går på generatorn")
    hass.states.async_set("sensor.kall_outage_duration", "95")
    hass.states.async_set("sensor.kall_fuel_runtime", "18.62")
    text = shown(hass, card["content"])
    assert "Elnätet är borta sedan 95 min." in text
    assert "Bränsle för 18.6 h." in text
    for missing in ("unknown", "unavailable"):
        hass.states.async_set("sensor.kall_fuel_runtime", missing)
        hass.states.async_set("sensor.kall_outage_duration", missing)
        text = shown(hass, card["content"])
        assert " 0 min" not in text, text
        assert "0.0 h" not in text, text
        assert "Hur länge bränslet räcker går inte att säga just nu." in text, text
        assert "Elnätet är borta." in text, text


def banners(states: dict[str, str]) -> list[str]:
    """The titles of the Kall view's alert banners the frontend shows for these states: its
    conditional cards with `state` / `state_not` conditions, as the frontend reads them."""
    view = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))["views"][0]
    titles: list[str] = []
    for section in view["sections"]:
        for card in section["cards"]:
            if card["type"] != "conditional" or "ha-alert" not in card["card"].get("content", ""):
                continue
            met = True
            for condition in card["conditions"]:
                state = states.get(condition["entity"], "unavailable")
                if "state" in condition:
                    wanted = condition["state"]
                    met &= state in (wanted if isinstance(wanted, list) else [wanted])
                if "state_not" in condition:
                    unwanted = condition["state_not"]
                    met &= state not in (unwanted if isinstance(unwanted, list) else [unwanted])
            if met:
                title = re.search(r'title="([^"]+)"', card["card"]["content"])
                assert title is not None
                titles.append(title.group(1))
    return titles


def test_one_banner_says_where_the_power_comes_from() -> None:
    on_backup = {
        "binary_sensor.kall_on_backup_power": "on",
        "binary_sensor.kall_grid_present": "off",
        "sensor.kall_power_source": "generator",
    }
    assert banners(on_backup) == ["Reservkraft: Kall går på generatorn"]
    # The grid back, the generator still on load: not "the grid is gone since 0 min".
    grid_back = on_backup | {"binary_sensor.kall_grid_present": "on"}
    assert banners(grid_back) == ["Elnätet är tillbaka"]
    # The grid meter silent during the outage: still on backup power.
    assert banners(on_backup | {"binary_sensor.kall_grid_present": "unavailable"}) == [
        "Reservkraft: Kall går på generatorn"
    ]
    dark = {
        "binary_sensor.kall_on_backup_power": "off",
        "binary_sensor.kall_grid_present": "off",
        "sensor.kall_power_source": "none",
    }
    assert banners(dark) == ["Strömlöst"]


def test_the_readiness_banner_shows_while_the_power_source_cannot_be_told() -> None:
    """With the site's link or Home Assistant's MQTT connection down, every live value is
    unavailable and readiness says to check (`link_down`): the banner, shown only on the grid,
    was hidden exactly then, and no other banner showed either. During an outage the banners
    about the generator or the dark site say what to do."""

    def shown(states: dict[str, str]) -> list[str]:
        return [title.split(":")[0] for title in banners(states)]

    check = {"sensor.kall_storm_readiness": "check"}
    assert shown(check | {"sensor.kall_power_source": "grid"}) == ["Stormberedskap"]
    for unknown in ("unknown", "unavailable"):
        silent = check | {
            "sensor.kall_power_source": unknown,
            "binary_sensor.kall_on_backup_power": unknown,
            "binary_sensor.kall_grid_present": unknown,
        }
        assert shown(silent) == ["Stormberedskap"], unknown
    assert shown({"sensor.kall_storm_readiness": "ready"}) == []
    on_backup = check | {
        "binary_sensor.kall_on_backup_power": "on",
        "binary_sensor.kall_grid_present": "off",
        "sensor.kall_power_source": "generator",
    }
    assert shown(on_backup) == ["Reservkraft"]
    assert shown(check | {"sensor.kall_power_source": "none"}) == ["Strömlöst"]


def test_the_county_chart_names_each_line_by_its_site() -> None:
    """The county's power-source chart labels each line with the site's name, as its rows do:
    the entity's own name ("Valsjöbyn Power source") is English in a Swedish view, and too
    long for the label, which showed "Valsjöbyn Power ..." and "Hallen Power sou..."."""
    county = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))["views"][1]
    (stack,) = county["cards"]
    rows = list(
        dict.fromkeys(
            card["card"]["title"]
            for card in stack["cards"]
            if card["type"] == "conditional" and card["card"]["type"] == "glance"
        )
    )
    assert rows == ["Kall", "Valsjöbyn", "Hallen"]
    (chart,) = [card for card in stack["cards"] if card["type"] == "history-graph"]
    lines = [line if isinstance(line, dict) else {"entity": line} for line in chart["entities"]]
    assert [(line["entity"], line.get("name")) for line in lines] == [
        (f"sensor.{site.lower().replace('ö', 'o')}_power_source", site) for site in rows
    ]


def test_the_badges_name_what_the_cards_below_name() -> None:
    """The badges at the top of the Kall view are named in Swedish as the cards below them
    name the same entities, not "Kall Power source" over a tile saying "Matning"."""
    view = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))["views"][0]
    named: dict[str, set[str]] = {}

    def walk(card: dict[str, Any]) -> None:
        if "entity" in card and "name" in card:
            named.setdefault(card["entity"], set()).add(card["name"])
        for child in [*card.get("cards", []), *card.get("entities", [])]:
            if isinstance(child, dict):
                walk(child)

    for section in view["sections"]:
        for card in section["cards"]:
            walk(card)
    badges = {badge["entity"]: badge.get("name") for badge in view["badges"]}
    assert badges == {
        "sensor.kall_power_source": "Matning",
        "sensor.kall_fuel_runtime": "Räcker i",
        "sensor.kall_outage_duration": "Avbrottstid",
        "sensor.kall_storm_readiness": "Stormberedskap",
    }
    for entity, name in badges.items():
        assert named.get(entity, {name}) == {name}, entity
