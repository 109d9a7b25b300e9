"""The information display (dashboards/sot_public.yaml): its templates rendered by Home
Assistant's own template engine, for an open site and a closed one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template

DASHBOARD = Path(__file__).parent.parent / "dashboards" / "sot_public.yaml"
OPERATOR_ONLY = ("button.", "select.", "switch.", "generator", "tank_", "fuel_runtime")


def markdowns() -> list[str]:
    """Every markdown card's content of the Kall view, in order."""
    view = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))["views"][0]
    found: list[str] = []

    def walk(card: dict[str, Any]) -> None:
        if card["type"] == "markdown":
            found.append(card["content"])
        for child in card.get("cards", []):
            walk(child)
        if "card" in card:
            walk(card["card"])

    for card in view["cards"]:
        walk(card)
    return found


def shown(hass: HomeAssistant) -> str:
    text = "\n".join(Template(content, hass).async_render() for content in markdowns())
    text = re.sub(r"<ha-icon [^>]*></ha-icon> ", "", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


PRODUCTS = {
    "diesel": {"name": "diesel", "status": "open", "for_sale": 4450},
    "petrol95": {"name": "petrol 95", "status": "closed", "for_sale": 0},
    "e10": {"name": "e10", "status": "limited", "for_sale": None},
}


def site(hass: HomeAssistant, status: str, power: str) -> None:
    hass.states.async_set("sensor.kall_services", status)
    hass.states.async_set("sensor.kall_power_source", power)
    for entity, state in (
        ("sensor.kall_food", "limited"),
        ("sensor.kall_card_payment", "open"),
        ("sensor.kall_warm_room", "closed"),
    ):
        hass.states.async_set(entity, state if status != "closed" else "closed")
    hass.states.async_set("sensor.kall_fuel_for_sale", status, {"products": PRODUCTS, "reason": ""})


async def test_the_display_of_an_open_site(hass: HomeAssistant) -> None:
    site(hass, "limited", "generator")
    text = shown(hass)
    lines = text.splitlines()
    assert lines[0] == "# Öppet på reservkraft"
    assert lines[1:3] == [
        "## Kall · service- och trygghetspunkt",
        "## Elnätet är borta: platsen går på reservkraft.",
    ]
    assert "## Livsmedel: begränsat" in lines
    assert "## Kortbetalning: öppet" in lines
    assert "## Värmestuga: stängt" in lines
    assert "Kontanter" not in text  # a service the site does not offer is not listed
    assert "## Diesel: finns, cirka 4400 liter" in lines
    assert "## Bensin 95: stängt just nu" in lines
    # On sale, its stock not known (no gauge, or a silent one): not a bare "finns" that could
    # send someone to an empty tank.
    assert "## e10: finns, mängden okänd" in lines
    site(hass, "open", "grid")
    assert shown(hass).splitlines()[0] == "# Öppet"


async def test_the_display_of_a_closed_site_tells_no_litres(hass: HomeAssistant) -> None:
    site(hass, "closed", "none")
    text = shown(hass)
    assert text.splitlines()[0] == "# Stängt"
    assert "liter" not in text
    assert "## Diesel: stängt just nu" in text
    hass.states.async_set("sensor.kall_services", "unknown")
    assert shown(hass).splitlines()[0] == "# Inga uppgifter just nu"


async def test_the_display_shows_the_operators_message(hass: HomeAssistant) -> None:
    site(hass, "open", "grid")
    hass.states.async_set("text.kall_public_message", "Öppet till 20 i kväll")
    assert "# Öppet till 20 i kväll" in shown(hass).splitlines()


async def test_the_display_tells_when_the_message_was_put_up(hass: HomeAssistant) -> None:
    """A message "Öppet till 20 i kväll" read the next day: the day and time it was put up
    show it is yesterday's."""
    await hass.config.async_update(time_zone="Europe/Stockholm")
    site(hass, "open", "grid")
    hass.states.async_set(
        "text.kall_public_message",
        "Öppet till 20 i kväll",
        {"time": "2026-11-22T14:05:00+00:00"},
    )
    lines = shown(hass).splitlines()
    assert "# Öppet till 20 i kväll" in lines
    assert "Uppsatt 22/11 kl. 15:05" in lines


def test_the_display_has_no_generator_controls_or_tank() -> None:
    text = DASHBOARD.read_text(encoding="utf-8")
    entities = set(re.findall(r"\b(?:sensor|binary_sensor|text|button|select|switch)\.\w+", text))
    assert entities
    assert not [e for e in entities if any(word in e for word in OPERATOR_ONLY)], entities


async def test_the_display_writes_large_stocks_as_swedish_does(hass: HomeAssistant) -> None:
    """A station's tank holds tens of thousands of litres: "cirka 19 900 liter", digits in
    threes with a space that does not break the line, not "19900"; four digits stay whole."""
    site(hass, "open", "grid")
    products = {
        "diesel": {"name": "diesel", "status": "open", "for_sale": 19950},
        "petrol95": {"name": "petrol 95", "status": "open", "for_sale": 104_000},
        "hvo": {"name": "HVO", "status": "open", "for_sale": 4450},
    }
    hass.states.async_set("sensor.kall_fuel_for_sale", "open", {"products": products})
    lines = shown(hass).splitlines()
    assert "## Diesel: finns, cirka 19\u00a0900 liter" in lines
    assert "## Bensin 95: finns, cirka 104\u00a0000 liter" in lines
    assert "## HVO: finns, cirka 4400 liter" in lines


async def test_the_display_of_a_tank_nearly_empty_and_a_product_that_cannot_be_told(
    hass: HomeAssistant,
) -> None:
    """50 L above the reserve is not "cirka 0 liter"; a product whose state cannot be told is
    not said to be closed."""
    site(hass, "limited", "generator")
    products = {
        "diesel": {"name": "diesel", "status": "open", "for_sale": 50},
        "petrol95": {"name": "petrol 95", "status": None, "for_sale": None},
        "hvo": {"name": "HVO", "status": "closed", "for_sale": 0},
    }
    hass.states.async_set("sensor.kall_fuel_for_sale", "limited", {"products": products})
    lines = shown(hass).splitlines()
    assert "## Diesel: finns, under 100 liter" in lines
    assert "## Bensin 95: inga uppgifter just nu" in lines
    assert "## HVO: stängt just nu" in lines
    assert "cirka 0 liter" not in shown(hass)
    # The site cannot be told: neither litres nor "closed" for a product that cannot be either.
    hass.states.async_set("sensor.kall_services", "unknown")
    lines = shown(hass).splitlines()
    assert "## Bensin 95: inga uppgifter just nu" in lines
    assert "## HVO: stängt just nu" in lines
    assert "liter" not in "\n".join(lines)


async def test_on_backup_power_the_display_claims_no_service_that_is_closed(
    hass: HomeAssistant,
) -> None:
    """The generator carries the site, but the pumps are not on it: the line about power does
    not say the station runs."""
    site(hass, "limited", "generator")
    closed = {"diesel": {"name": "diesel", "status": "closed", "for_sale": 4000}}
    hass.states.async_set("sensor.kall_fuel_for_sale", "closed", {"products": closed})
    text = shown(hass)
    assert "## Diesel: stängt just nu" in text.splitlines()
    assert "macken" not in text


async def test_the_display_does_not_say_the_grid_is_gone_once_it_is_back(
    hass: HomeAssistant,
) -> None:
    """The grid is back and the generator still carries the site until the switch is moved:
    residents are not told the grid is gone, nor that the site is without power."""
    site(hass, "open", "generator")
    hass.states.async_set("binary_sensor.kall_grid_present", "on")
    lines = shown(hass).splitlines()
    assert lines[0] == "# Öppet på reservkraft"
    assert lines[2] == "## Elnätet är tillbaka: platsen går ännu på reservkraft."
    hass.states.async_set("binary_sensor.kall_grid_present", "off")
    assert shown(hass).splitlines()[2] == "## Elnätet är borta: platsen går på reservkraft."
    # Without a grid meter the display says what it said before.
    hass.states.async_remove("binary_sensor.kall_grid_present")
    assert shown(hass).splitlines()[2] == "## Elnätet är borta: platsen går på reservkraft."


async def test_the_display_names_a_product_as_its_pump_does(hass: HomeAssistant) -> None:
    """A product named in its meta ("Bensin 95 E10", "Diesel MK1") is shown by that name, as
    the public summary gives it; an unnamed one by its usual Swedish name, whatever Home
    Assistant's language."""
    site(hass, "open", "grid")
    products = {
        "petrol95": {"name": "Bensin 95 E10", "status": "open", "for_sale": 4450},
        "diesel": {"name": "Diesel MK1", "status": "open", "for_sale": 4450},
        "petrol98": {"name": "petrol 98", "status": "open", "for_sale": 4450},
        "hvo": {"name": "HVO", "status": "open", "for_sale": 4450},
    }
    hass.states.async_set("sensor.kall_fuel_for_sale", "open", {"products": products})
    lines = shown(hass).splitlines()
    assert "## Bensin 95 E10: finns, cirka 4400 liter" in lines
    assert "## Diesel MK1: finns, cirka 4400 liter" in lines
    assert "## Bensin 98: finns, cirka 4400 liter" in lines
    assert "## HVO: finns, cirka 4400 liter" in lines
