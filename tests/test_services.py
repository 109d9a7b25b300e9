"""What the site offers: the service rules, fuel for sale, the summary in three languages and
the public summary, on the pure site model."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.power import PowerSource
from custom_components.sot.site.public import MESSAGE_MAX, notice, public_summary
from custom_components.sot.site.readings import Meta, Reading
from custom_components.sot.site.service_texts import (
    describe_reason,
    describe_service,
    service_name,
    summary,
)
from custom_components.sot.site.services import (
    Offer,
    Reason,
    ReasonCode,
    Service,
    Status,
    evaluate,
    offered,
    service,
)
from custom_components.sot.site.vocabulary import Value

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OPEN, LIMITED, CLOSED = Status.OPEN, Status.LIMITED, Status.CLOSED


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def feed(site: Site, minutes: float, kind: str, component_id: str, **values: Value) -> None:
    now = at(minutes)
    site.apply(
        [Reading(kind, component_id, quantity, value, now) for quantity, value in values.items()],
        now,
    )


def meta(site: Site, kind: str, component_id: str, **settings: float | str | list[str]) -> None:
    provides = settings.pop("provides", ())
    name = settings.pop("name", None)
    site.set_meta(
        Meta(
            kind,
            component_id,
            name if isinstance(name, str) else None,
            None,
            {k: float(v) for k, v in settings.items() if isinstance(v, int | float)},
            (provides,) if isinstance(provides, str) else tuple(provides),
        )
    )


def on_grid(minutes: float = 0, present: bool = True) -> Site:
    site = Site(Settings(alarm_delay=timedelta(0)))
    feed(site, minutes, "grid", "main", present=present)
    return site


def reasons(found: Service | None) -> list[tuple[str, str | None]]:
    assert found is not None
    return [(r.code.value, r.id) for r in found.reasons]


def status(site: Site, name: str, minutes: float = 0) -> Status | None:
    found = service(site, name, at(minutes))
    assert found is not None, f"{name} is not offered"
    return found.status


# -- which services a site offers --------------------------------------------------------------


def test_a_site_without_providers_offers_nothing_and_cannot_be_told() -> None:
    site = on_grid()
    offer = evaluate(site, at(0))
    assert offer.services == {}
    assert offer.status is None
    assert offer.power is PowerSource.GRID
    # With no power at all it is closed, services or not.
    assert evaluate(on_grid(present=False), at(0)).status is CLOSED


def test_services_come_from_meta_and_from_kinds() -> None:
    site = on_grid()
    assert not any(offered(site, name) for name in ("food", "fuel", "cash", "warm_room"))
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    feed(site, 0, "station", "diesel", volume=5000.0)
    feed(site, 0, "room", "warm", temperature=20.0)
    feed(site, 0, "room", "store", temperature=20.0)
    assert not offered(site, "warm_room")  # a room is the warm room when its meta says so
    meta(site, "room", "warm", provides="warm_room")
    meta(site, "load", "till", provides="cash")
    assert all(offered(site, name) for name in ("food", "fuel", "warm_room", "cash"))
    assert not offered(site, "card_payment")
    assert not offered(site, "communications")
    assert list(evaluate(site, at(0)).services) == ["food", "fuel", "cash", "warm_room"]


# -- food ------------------------------------------------------------------------------------


def test_food_with_freezers_only_follows_the_sites_power() -> None:
    site = on_grid()
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    assert status(site, "food") is OPEN
    feed(site, 1, "grid", "main", present=False)
    assert status(site, "food", 1) is CLOSED
    assert reasons(service(site, "food", at(1))) == [("no_power", None)]


def test_a_warm_freezer_limits_food() -> None:
    site = on_grid()
    meta(site, "freezer", "f2", name="Frys 2")
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    feed(site, 0, "freezer", "f2", temperature=-14.0)
    feed(site, 1, "freezer", "f2", temperature=-14.0)
    found = service(site, "food", at(1))
    assert found is not None
    assert found.status is LIMITED
    assert reasons(found) == [("freezer_warning", "f2")]
    assert describe_service(found, "sv") == "Frys 2 över varningsgränsen"
    feed(site, 2, "freezer", "f2", temperature=-10.0)
    assert reasons(service(site, "food", at(2))) == [("freezer_critical", "f2")]
    # No power closes the store, whatever the freezers say.
    feed(site, 3, "grid", "main", present=False)
    assert status(site, "food", 3) is CLOSED


def test_a_freezer_whose_probe_is_silent_limits_food() -> None:
    """Frys 2 was critical, then its probe fell silent: whether it is still above its limits is
    not known, so food is not said to be open without a word about it."""
    site = on_grid()
    meta(site, "freezer", "f2", name="Frys 2")
    feed(site, 0, "freezer", "f2", temperature=-10.0)
    feed(site, 1, "freezer", "f2", temperature=-10.0)
    assert reasons(service(site, "food", at(1))) == [("freezer_critical", "f2")]
    for minute in range(2, 12):
        feed(site, minute, "grid", "main", present=True)
    found = service(site, "food", at(11))
    assert found is not None
    assert found.status is LIMITED
    assert reasons(found) == [("no_data", "f2")]
    assert describe_service(found, "sv") == "inga uppgifter från Frys 2"
    feed(site, 12, "freezer", "f2", temperature=-19.0)
    assert status(site, "food", 12) is OPEN


def test_food_from_the_stores_loads() -> None:
    site = on_grid()
    meta(site, "load", "store", provides=["food", "cash"])
    meta(site, "load", "coolers", provides="food")
    feed(site, 0, "load", "store", state=True)
    feed(site, 0, "load", "coolers", state=True)
    assert status(site, "food") is OPEN
    # The chilled cases shed: limited.
    feed(site, 1, "load", "coolers", state=False)
    assert status(site, "food", 1) is LIMITED
    assert reasons(service(site, "food", at(1))) == [("off", "coolers")]
    # Everything off: closed.
    feed(site, 2, "load", "store", state=False)
    assert status(site, "food", 2) is CLOSED
    assert status(site, "cash", 2) is CLOSED


def test_a_silent_provider_makes_a_service_unknown_not_closed() -> None:
    site = on_grid()
    meta(site, "load", "store", provides="food")
    feed(site, 0, "load", "store", state=True)
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    # Ten minutes later nothing is live (stale after five): neither open nor closed.
    found = service(site, "food", at(10))
    assert found is not None
    assert found.status is None
    assert reasons(found) == [("no_data", "store")]


def test_a_load_drawing_power_is_up_while_the_power_source_is_unknown() -> None:
    site = Site(Settings())
    meta(site, "load", "till", provides="cash")
    feed(site, 0, "load", "till", state=True)
    assert status(site, "cash") is None  # no grid meter, no generator: unknown power
    feed(site, 0, "load", "till", power=0.2)
    assert status(site, "cash") is OPEN


# -- fuel ------------------------------------------------------------------------------------


def test_fuel_per_product_reserve_pump_and_sale() -> None:
    site = on_grid()
    meta(site, "station", "diesel", capacity=10000, reserve=2000)
    meta(site, "station", "petrol95", capacity=10000)
    feed(site, 0, "station", "diesel", volume=6450.0, pump=True, available=True)
    # Default reserve: a tenth of the tank.
    feed(site, 0, "station", "petrol95", volume=990.0, pump=True)
    feed(site, 0, "station", "adblue", pump=True, available=False)
    found = service(site, "fuel", at(0))
    assert found is not None
    assert found.status is LIMITED
    by_id = {p.id: p for p in found.products}
    assert by_id["diesel"].status is OPEN
    assert by_id["diesel"].for_sale == pytest.approx(4450.0)
    assert by_id["petrol95"].status is CLOSED
    assert by_id["petrol95"].for_sale == 0.0
    assert [r.code for r in by_id["petrol95"].reasons] == [ReasonCode.AT_RESERVE]
    assert by_id["adblue"].status is CLOSED
    assert by_id["adblue"].for_sale is None  # no gauge: stock not considered
    assert [r.code for r in by_id["adblue"].reasons] == [ReasonCode.NOT_AVAILABLE]
    # The diesel pump loses its power.
    feed(site, 1, "station", "diesel", pump=False)
    assert status(site, "fuel", 1) is CLOSED


def test_fuel_pumps_on_the_sites_supply() -> None:
    site = on_grid()
    feed(site, 0, "station", "diesel", volume=3000.0, ullage=7000.0)
    # Capacity from volume and ullage: reserve 1000 L.
    assert site.station.reserve(site.component("station", "diesel"), at(0)) == 1000.0  # type: ignore[arg-type]
    assert status(site, "fuel") is OPEN
    feed(site, 1, "grid", "main", present=False)
    assert status(site, "fuel", 1) is CLOSED
    # The pumps declared as a load: off closes every product without its own pump signal.
    site = on_grid()
    meta(site, "load", "pumps", provides="fuel")
    feed(site, 0, "load", "pumps", state=False)
    feed(site, 0, "station", "diesel", volume=3000.0)
    found = service(site, "fuel", at(0))
    assert found is not None
    assert (found.status, reasons(found)) == (CLOSED, [("off", "pumps")])
    feed(site, 1, "load", "pumps", state=True)
    assert status(site, "fuel", 1) is OPEN


def test_a_silent_ullage_does_not_put_the_reserve_on_sale() -> None:
    """A tank known only from its gauge (10 000 L from volume + ullage, reserve 1 000 L) with
    900 L in it is down to its reserve; when the gauge's ullage falls silent while its volume
    goes on, the reserve is not taken as none: no "diesel open, 800 litres"."""
    site = on_grid()
    feed(site, 0, "station", "diesel", volume=900.0, ullage=9100.0, pump=True)
    assert public_summary(site, at(0), "kall", "Kall")["fuel"] == [
        {"product": "diesel", "name": "diesel", "status": "closed"}
    ]
    feed(site, 6, "station", "diesel", volume=890.0, pump=True)
    feed(site, 6, "grid", "main", present=True)
    content = public_summary(site, at(6), "kall", "Kall")
    assert content["fuel"] == [{"product": "diesel", "name": "diesel", "status": "limited"}]
    assert content["services"]["fuel"] == {"status": "limited", "reasons": ["no_data"]}
    # The ullage back: the reserve is known again.
    feed(site, 7, "station", "diesel", ullage=9110.0)
    assert public_summary(site, at(7), "kall", "Kall")["fuel"][0]["status"] == "closed"


def test_fuel_without_products_is_the_pumps() -> None:
    site = on_grid()
    meta(site, "load", "pumps", provides="fuel")
    feed(site, 0, "load", "pumps", state=True)
    found = service(site, "fuel", at(0))
    assert found is not None
    assert (found.status, found.products) == (OPEN, ())


def test_a_product_that_cannot_be_told() -> None:
    site = on_grid()
    meta(site, "station", "diesel", capacity=10000)
    feed(site, 0, "station", "diesel", level=50.0, pump=True, available=True)
    assert site.station.for_sale(site.component("station", "diesel"), at(0)) == 4000.0  # type: ignore[arg-type]
    # The gauge falls silent while the pump and the sale signal stay: limited.
    feed(site, 6, "station", "diesel", pump=True, available=True)
    found = service(site, "fuel", at(6))
    assert found is not None
    assert (found.status, reasons(found)) == (LIMITED, [("no_data", "diesel")])
    # The pump's signal silent as well: unknown.
    feed(site, 12, "grid", "main", present=True)
    assert status(site, "fuel", 12) is None


def test_litres_sold_during_an_outage() -> None:
    site = on_grid()
    feed(site, 0, "station", "diesel", volume=5000.0)
    diesel = site.component("station", "diesel")
    assert diesel is not None
    assert site.station.sold(diesel) == 0.0
    feed(site, 1, "grid", "main", present=False)
    assert site.station.sold(diesel) == 0.0
    feed(site, 2, "station", "diesel", volume=4800.0)
    assert site.station.sold(diesel) == pytest.approx(200.0)
    # A delivery is not a sale undone.
    feed(site, 3, "station", "diesel", volume=7800.0)
    assert site.station.sold(diesel) == pytest.approx(200.0)
    feed(site, 4, "station", "diesel", volume=7700.0)
    assert site.station.sold(diesel) == pytest.approx(300.0)
    # The gauge's wobble upwards is not a delivery, and never makes the figure negative.
    feed(site, 5, "station", "diesel", volume=7710.0)
    assert site.station.sold(diesel) == pytest.approx(290.0)

    # The figure survives a restart of Home Assistant.
    restored = Site(Settings())
    restored.restore(json.loads(json.dumps(site.snapshot())))
    again = restored.component("station", "diesel")
    assert again is not None
    assert restored.station.sold(again) == pytest.approx(290.0)

    # The grid returns: the outage's figure is kept, the present one is 0.
    feed(site, 6, "grid", "main", present=True)
    assert site.station.sold(diesel) == 0.0
    assert site.station.last_sold == {"diesel": 290.0}
    # The next outage counts from its own start.
    feed(site, 7, "grid", "main", present=False)
    feed(site, 8, "station", "diesel", volume=7600.0)
    assert site.station.sold(diesel) == pytest.approx(110.0)
    site.forget("station", "diesel")
    assert site.station.sales == {}


def test_a_slow_delivery_is_added_back_and_a_tank_warming_is_not() -> None:
    """A delivery pumped in at 40 L a minute, read every 10 s (under 7 L a reading), is added
    back, also across a restart in its middle; a tank in the sun, rising 60 L over six hours
    a litre at a time, is not a delivery: its cooling at night is no sale."""
    site = on_grid()
    feed(site, 0, "station", "adblue", volume=3000.0)
    adblue = site.component("station", "adblue")
    assert adblue is not None
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "station", "adblue", volume=2800.0)
    for step in range(1, 76):
        feed(site, 10 + step / 6, "station", "adblue", volume=2800.0 + step * 1000 / 150)
    restored = Site(Settings())
    restored.restore(json.loads(json.dumps(site.snapshot())))
    for step in range(76, 151):
        feed(restored, 10 + step / 6, "station", "adblue", volume=2800.0 + step * 1000 / 150)
    again = restored.component("station", "adblue")
    assert again is not None
    assert restored.station.sold(again) == pytest.approx(200.0)
    feed(restored, 40, "station", "adblue", volume=3700.0)
    assert restored.station.sold(again) == pytest.approx(300.0)

    for minute in range(60, 421, 6):
        feed(restored, minute, "station", "adblue", volume=3700.0 + (minute - 60) / 6)
    assert restored.station.sold(again) == 240.0  # 300 less the 60 L the warmth added
    feed(restored, 480, "station", "adblue", volume=3700.0)
    assert restored.station.sold(again) == pytest.approx(300.0)


def test_a_delivery_saved_by_the_previous_release_is_added_back_once() -> None:
    """Home Assistant is updated in the middle of a delivery pumped in at 40 L a minute: the
    state the previous release saved keeps the rise as where it began alone (the stock rose
    without a fall since, so its last reading was its highest). The 1000 L delivered are added
    back once: the 200 L sold stay 200 L, not 700 L."""
    site = on_grid()
    feed(site, 0, "station", "adblue", volume=3000.0)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "station", "adblue", volume=2800.0)
    for step in range(1, 76):
        feed(site, 10 + step / 6, "station", "adblue", volume=2800.0 + step * 1000 / 150)
    saved = json.loads(json.dumps(site.snapshot()))
    sales = saved["station"]["sales"]["adblue"]
    assert sales[5] is True  # delivering
    sales[4] = sales[4][:2]  # the rise as the previous release saved it
    restored = Site(Settings())
    restored.restore(saved)
    for step in range(76, 151):
        feed(restored, 10 + step / 6, "station", "adblue", volume=2800.0 + step * 1000 / 150)
    adblue = restored.component("station", "adblue")
    assert adblue is not None
    assert restored.station.sold(adblue) == pytest.approx(200.0)


def test_a_slow_delivery_on_a_wobbling_gauge_is_added_back_whole() -> None:
    """Diesel pumped in at 10 L a minute, read every 10 s: each reading rises 1.7 L, the gauge
    wobbles by up to 4 L either way. The 600 L delivered are added back whole, not in the
    pieces between the wobbles' falls; the 100 L sold after it, pumped out at 40 L a minute
    on the same wobbling gauge, are sold."""
    rng = random.Random(3)
    site = on_grid()
    feed(site, 0, "station", "diesel", volume=3000.0)
    diesel = site.component("station", "diesel")
    assert diesel is not None
    feed(site, 1, "grid", "main", present=False)
    stock = 2800.0  # 200 L sold
    minute = 2.0

    def read(litres: float) -> None:
        nonlocal minute
        minute += 1 / 6
        feed(site, minute, "station", "diesel", volume=round(litres + rng.uniform(-4, 4), 1))

    for _ in range(60):
        read(stock)
    for _ in range(360):  # an hour: 600 L
        stock += 10 / 6
        read(stock)
    for _ in range(60):
        read(stock)
    for _ in range(15):  # 100 L at 40 L a minute
        stock -= 40 / 6
        read(stock)
    for _ in range(60):
        read(stock)
    assert site.station.sold(diesel) == pytest.approx(300.0, abs=10.0)


def test_sold_is_unknown_until_the_stock_is_known_in_the_outage() -> None:
    site = on_grid()
    feed(site, 0, "grid", "main", present=False)
    feed(site, 0, "station", "diesel", pump=True)
    diesel = site.component("station", "diesel")
    assert diesel is not None
    assert site.station.sold(diesel) is None


def test_damaged_station_state_is_refused() -> None:
    site = Site(Settings())
    with pytest.raises(ValueError, match="damaged"):
        site.restore({"version": 2, "station": {"sales": {"diesel": [None, 1.0, 2.0]}}})


# -- card payment, cash, communications --------------------------------------------------------


def test_card_payment_from_the_terminal_and_its_router() -> None:
    site = on_grid()
    meta(site, "network", "terminal", provides="card_payment")
    meta(site, "network", "router", provides=["card_payment", "communications"])
    feed(site, 0, "network", "terminal", online=True)
    feed(site, 0, "network", "router", online=True, signal=-85.0)
    assert status(site, "card_payment") is OPEN
    assert status(site, "communications") is OPEN
    feed(site, 1, "network", "router", online=False)
    assert status(site, "card_payment", 1) is LIMITED
    assert status(site, "communications", 1) is CLOSED
    feed(site, 2, "network", "terminal", online=False)
    assert status(site, "card_payment", 2) is CLOSED
    # On its own battery and 4G, the terminal works without the site's power.
    feed(site, 3, "grid", "main", present=False)
    feed(site, 3, "network", "terminal", online=True)
    assert status(site, "card_payment", 3) is LIMITED


def test_a_weak_mobile_signal_limits_communications() -> None:
    site = on_grid()
    meta(site, "network", "modem", provides="communications")
    feed(site, 0, "network", "modem", online=True, signal=-100.0)
    found = service(site, "communications", at(0))
    assert found is not None
    assert (found.status, reasons(found)) == (LIMITED, [("weak_signal", "modem")])
    assert describe_service(found, "en") == "weak mobile signal (−100 dBm)"
    feed(site, 1, "network", "modem", signal=-99.0)
    assert status(site, "communications", 1) is OPEN


def test_a_provider_of_another_kind_is_up_while_it_reports() -> None:
    site = on_grid()
    meta(site, "generator", "main", provides="communications")
    feed(site, 0, "generator", "main", state="stopped")
    assert status(site, "communications") is OPEN
    assert status(site, "communications", 10) is None


# -- warm room -------------------------------------------------------------------------------


def test_warm_room_by_its_temperature_and_its_heater() -> None:
    site = on_grid()
    meta(site, "load", "heater", provides="warm_room")
    meta(site, "room", "warm", name="Skolan", provides="warm_room")
    feed(site, 0, "load", "heater", state=False)
    feed(site, 0, "room", "warm", temperature=19.0)
    # Warm enough: open, whatever the heater does (its thermostat cycles).
    assert status(site, "warm_room") is OPEN
    feed(site, 1, "room", "warm", temperature=12.4)
    found = service(site, "warm_room", at(1))
    assert found is not None
    assert found.status is CLOSED
    assert reasons(found) == [("off", "heater"), ("room_cold", "warm")]
    assert describe_service(found, "sv") == "last heater avstängd, Skolan bara 12 °C"
    feed(site, 2, "load", "heater", state=True)
    assert status(site, "warm_room", 2) is LIMITED
    # A room's own minimum.
    meta(site, "room", "warm", name="Skolan", minimum=12, provides="warm_room")
    assert status(site, "warm_room", 2) is OPEN


def test_warm_room_without_a_thermometer_or_without_a_heater() -> None:
    site = on_grid()
    meta(site, "load", "heater", provides="warm_room")
    feed(site, 0, "load", "heater", state=True)
    assert status(site, "warm_room") is OPEN
    feed(site, 1, "grid", "main", present=False)
    assert status(site, "warm_room", 1) is CLOSED
    # A room whose thermometer is silent: the heater decides, limited for want of data.
    site = on_grid()
    meta(site, "load", "heater", provides="warm_room")
    meta(site, "room", "warm", provides="warm_room")
    feed(site, 0, "room", "warm", temperature=20.0)
    feed(site, 10, "load", "heater", state=True)
    feed(site, 10, "grid", "main", present=True)
    found = service(site, "warm_room", at(10))
    assert found is not None
    assert (found.status, reasons(found)) == (LIMITED, [("no_data", "warm")])
    # Rooms only: cold is closed (nothing is known to warm it), silent is unknown.
    site = on_grid()
    meta(site, "room", "warm", provides="warm_room")
    feed(site, 0, "room", "warm", temperature=10.0)
    assert status(site, "warm_room") is CLOSED
    assert status(site, "warm_room", 10) is None


def test_a_warm_room_while_another_is_cold_and_the_heater_off_is_limited() -> None:
    """Skolan at 20 °C, Bygdegården at 11 °C, the heater off: there is a warm room to go to,
    so the service is limited, not closed; with both cold it is closed."""
    site = on_grid()
    meta(site, "load", "heater", provides="warm_room")
    meta(site, "room", "school", name="Skolan", provides="warm_room")
    meta(site, "room", "hall", name="Bygdegården", provides="warm_room")
    feed(site, 0, "load", "heater", state=False)
    feed(site, 0, "room", "school", temperature=20.0)
    feed(site, 0, "room", "hall", temperature=11.0)
    found = service(site, "warm_room", at(0))
    assert found is not None
    assert found.status is LIMITED
    assert reasons(found) == [("off", "heater"), ("room_cold", "hall")]
    feed(site, 1, "room", "school", temperature=15.0)
    assert status(site, "warm_room", 1) is CLOSED


def test_a_warm_room_whose_thermometer_is_silent_limits_the_service() -> None:
    """Two warm rooms, one of them warm, the other's thermometer silent (it was 10 °C): not
    every room is known to be warm, so the service is limited, not open."""
    site = on_grid()
    meta(site, "room", "school", name="Skolan", provides="warm_room")
    meta(site, "room", "hall", name="Bygdegården", provides="warm_room")
    feed(site, 0, "room", "hall", temperature=10.0)
    feed(site, 10, "room", "school", temperature=20.0)
    feed(site, 10, "grid", "main", present=True)
    found = service(site, "warm_room", at(10))
    assert found is not None
    assert (found.status, reasons(found)) == (LIMITED, [("no_data", "hall")])
    assert describe_service(found, "sv") == "inga uppgifter från Bygdegården"
    feed(site, 11, "room", "hall", temperature=19.0)
    assert status(site, "warm_room", 11) is OPEN


# -- the site as a whole ---------------------------------------------------------------------


def kall(minutes: float = 0) -> Site:
    site = on_grid(minutes)
    meta(site, "load", "store", provides=["food", "cash"])
    meta(site, "load", "heater", provides="warm_room")
    meta(site, "network", "terminal", provides="card_payment")
    meta(site, "station", "diesel", capacity=10000, reserve=2000)
    feed(site, minutes, "load", "store", state=True)
    feed(site, minutes, "load", "heater", state=True)
    feed(site, minutes, "network", "terminal", online=True)
    feed(site, minutes, "station", "diesel", volume=8450.0)
    feed(site, minutes, "freezer", "f1", temperature=-19.0)
    return site


def on_generator(site: Site, minutes: float) -> None:
    feed(site, minutes, "grid", "main", present=False)
    feed(site, minutes, "generator", "main", state="running", on_load=True)


def test_the_whole_site_and_its_sentence() -> None:
    site = kall()
    on_generator(site, 1)
    offer = evaluate(site, at(1))
    assert offer.status is OPEN
    assert (
        summary(offer, "en") == "Open on backup power: food, diesel, card payment, cash, warm room"
    )
    assert summary(offer, "sv") == (
        "Öppet på reservkraft: livsmedel, diesel, kortbetalning, kontanter, värmestuga"
    )
    assert summary(offer, "nb-NO") == (
        "Åpent på reservestrøm: dagligvarer, diesel, kortbetaling, kontanter, varmestue"
    )
    feed(site, 2, "load", "heater", state=False)
    offer = evaluate(site, at(2))
    assert offer.status is LIMITED
    assert (
        summary(offer, "en")
        == "Open on backup power: food, diesel, card payment, cash; closed: warm room"
    )
    feed(site, 3, "generator", "main", state="stopped", on_load=False)
    offer = evaluate(site, at(3))
    # The terminal on its battery keeps card payment open without power, but with nothing
    # to buy the site is closed: nobody is to drive there to pay for nothing.
    assert offer.services["card_payment"].status is OPEN
    assert offer.status is CLOSED
    assert summary(offer, "sv") == "Stängt: ingen ström"
    feed(site, 4, "network", "terminal", online=False)
    offer = evaluate(site, at(4))
    assert offer.status is CLOSED
    assert summary(offer, "sv") == "Stängt: ingen ström"
    assert summary(offer, "de") == "Closed: no power"


def test_the_sentence_for_a_limited_product_and_an_unknown_site() -> None:
    site = kall()
    meta(site, "station", "petrol95", capacity=10000)
    feed(site, 0, "station", "petrol95", volume=100.0, available=True)
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    offer = evaluate(site, at(0))
    assert summary(offer, "en") == (
        "Open: food, diesel, card payment, cash, warm room; closed: petrol 95"
    )
    assert summary(evaluate(site, at(20)), "en") == "No data from the site"
    assert summary(Offer(PowerSource.GRID, CLOSED), "nb") == "Stengt"
    assert service_name("communications", "sv") == "internet och telefon"


def test_a_way_to_pay_alone_does_not_open_the_site() -> None:
    """Only the card terminal (on its battery) and the router (on its UPS) are up: the router
    keeps communications open, the terminal alone does not."""
    site = kall()
    meta(site, "network", "router", provides="communications")
    feed(site, 0, "network", "router", online=True)
    feed(site, 1, "grid", "main", present=False)
    content = public_summary(site, at(1), "kall", "Kall")
    assert content["status"] == "limited"
    assert content["text"]["sv"] == (
        "Öppet utan ström: kortbetalning, internet och telefon; "
        "stängt: livsmedel, diesel, kontanter, värmestuga"
    )
    feed(site, 2, "network", "router", online=False)
    content = public_summary(site, at(2), "kall", "Kall")
    assert content["services"]["card_payment"]["status"] == "open"
    assert content["status"] == "closed"
    assert content["text"] == {
        "sv": "Stängt: ingen ström",
        "en": "Closed: no power",
        "nb": "Stengt: ingen strøm",
    }
    # Everything but the terminal silent: unknown, not open.
    site = kall()
    feed(site, 6, "network", "terminal", online=True)
    offer = evaluate(site, at(6))
    assert offer.services["card_payment"].status is OPEN
    assert offer.services["food"].status is None
    assert offer.services["fuel"].status is None
    assert offer.status is None
    assert summary(offer, "en") == "No data from the site"


def test_all_closed_but_one_unknown_is_unknown() -> None:
    site = on_grid()
    meta(site, "network", "terminal", provides="card_payment")
    meta(site, "load", "till", provides="cash")
    feed(site, 0, "network", "terminal", online=False)
    feed(site, 0, "load", "till", state=True)
    feed(site, 6, "network", "terminal", online=False)
    assert evaluate(site, at(6)).status is None


@pytest.mark.parametrize(
    ("reason", "language", "text"),
    [
        (Reason(ReasonCode.NO_POWER), "en", "no power"),
        (Reason(ReasonCode.POWER_UNKNOWN), "sv", "okänd strömkälla"),
        (Reason(ReasonCode.OFFLINE, "network", "router"), "nb", "nettverk router nede"),
        (
            Reason(ReasonCode.PUMP_OFF, "station", "petrol95"),
            "sv",
            "bensin 95: pumpen saknar ström",
        ),
        (Reason(ReasonCode.NO_DATA, "station", "e10"), "en", "no data from fuel e10"),
        (Reason(ReasonCode.NO_DATA, "grid", "main"), "sv", "inga uppgifter från elnät"),
        (
            Reason(ReasonCode.AT_RESERVE, "station", "diesel", "Diesel MK1"),
            "nb",
            "Diesel MK1 nede på reserven",
        ),
        (Reason(ReasonCode.ROOM_COLD, "room", "warm"), "en", "room warm only ? °C"),
        # 17.6 °C below an 18 °C minimum is not "only 18 °C".
        (Reason(ReasonCode.ROOM_COLD, "room", "warm", "Skolan", 17.6), "sv", "Skolan bara 17 °C"),
        (Reason(ReasonCode.ROOM_COLD, "room", "warm", None, -0.4), "en", "room warm only −1 °C"),
        (
            Reason(ReasonCode.FREEZER_CRITICAL, "freezer", "f1"),
            "nb",
            "fryser f1 over den kritiske grensen",
        ),
    ],
)
def test_reasons_in_words(reason: Reason, language: str, text: str) -> None:
    assert describe_reason(reason, language) == text


# -- the public summary ------------------------------------------------------------------------


def test_the_public_summary_while_open() -> None:
    site = kall()
    meta(site, "station", "petrol95", capacity=10000)
    feed(site, 0, "station", "petrol95", volume=100.0)
    site.notice = notice("  Öppet till 20 i kväll.\n Kaffe i skolan. ", at(0))
    on_generator(site, 1)
    content = public_summary(site, at(1), "kall", "Kall")
    assert content["status"] == "limited"
    assert content["power"] == "generator"
    assert content["text"]["sv"].startswith("Öppet på reservkraft: livsmedel, diesel")
    assert set(content["text"]) == {"sv", "en", "nb"}
    assert content["services"]["fuel"] == {"status": "limited", "reasons": ["at_reserve"]}
    assert content["fuel"] == [
        # 6450 L above the reserve, told to the hundred below.
        {"product": "diesel", "name": "diesel", "status": "open", "litres": 6400},
        # Not on sale: no litres.
        {"product": "petrol95", "name": "bensin 95", "status": "closed"},
    ]
    assert content["message"] == "Öppet till 20 i kväll. Kaffe i skolan."
    assert content["message_time"] == at(0).isoformat()
    # Nothing of the generator, its day tank or its controls.
    text = json.dumps(content)
    for word in ("generator_", "tank", "runtime", "rating", "start", "stop", "volume"):
        assert word not in text, word


def test_the_public_summary_tells_no_litres_while_closed_or_unknown() -> None:
    site = kall()
    feed(site, 1, "grid", "main", present=False)
    content = public_summary(site, at(1), "kall", "Kall")
    # The terminal on its battery: card payment, but nothing to pay for.
    assert content["services"]["card_payment"]["status"] == "open"
    assert content["status"] == "closed"
    assert "litres" not in json.dumps(content)
    feed(site, 2, "network", "terminal", online=False)
    content = public_summary(site, at(2), "kall", "Kall")
    assert content["status"] == "closed"
    assert content["fuel"] == [{"product": "diesel", "name": "diesel", "status": "closed"}]
    assert "litres" not in json.dumps(content)
    # Silent: neither open nor closed, and no litres either.
    site = kall()
    feed(site, 10, "station", "diesel", volume=8450.0)
    content = public_summary(site, at(10), "kall", "Kall")
    assert content["status"] is None
    assert "litres" not in json.dumps(content)
    assert content["message"] is None


def test_a_message_is_trimmed_and_an_empty_one_clears_it() -> None:
    assert notice("   \n ", at(0)) is None
    long = notice("x" * 500, at(0))
    assert long is not None
    assert len(long.text) == MESSAGE_MAX
    site = Site(Settings())
    site.notice = notice("Stängt i natt", at(0))
    restored = Site(Settings())
    restored.restore(json.loads(json.dumps(site.snapshot())))
    assert restored.notice == site.notice
