"""Sensors: measured quantities of every component, and what the site model derives."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    REVOLUTIONS_PER_MINUTE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfPressure,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import SiteCoordinator, SotConfigEntry
from .entity import SotEntity, SotEntityDescription, async_setup_discovery
from .offer_entities import (
    STATUSES,
    for_sale,
    measures_stock,
    product_status,
    service_attributes,
    service_exists,
    service_status,
    site_attributes,
    site_status,
    sold,
)
from .site.fuel import Figure
from .site.generators import GeneratorRun
from .site.model import Component, FreezerStatus, PowerSource, Site
from .site.readiness import Readiness
from .site.vocabulary import (
    GENERATOR_ALARMS,
    GENERATOR_MODES,
    GENERATOR_STATES,
    SERVICES,
    Kind,
)
from .site_records import (
    cold_chain_attributes,
    cold_chain_exists,
    cold_chain_state,
    readiness_attributes,
    readiness_state,
)

_LOGGER = logging.getLogger(__name__)
# Entities only show what arrives; nothing here polls.
PARALLEL_UPDATES = 0
# Enough of an estimate's last states to get past the `unavailable` of a reload.
_RECORDED_STATES = 5
# The attribute of every sensor of a site on the demo's clock: how much faster its time runs.
DEMO_CLOCK_SPEED = "demo_clock_speed"
ComponentAttributesFn = Callable[[Site, Component | None, datetime], dict[str, Any]]

ValueFn = Callable[[Site, Component | None, datetime], StateType | datetime]


@dataclass(frozen=True, kw_only=True)
class SotSensorDescription(SotEntityDescription, SensorEntityDescription):
    """A sensor row: by default the live value of the quantity named by `key`."""

    value_fn: ValueFn | None = None
    attributes_fn: Callable[[Site, datetime], dict[str, Any]] | None = None
    # Attributes of a component's row (a freezer's countdown: its bounds and what it rests on).
    component_attributes_fn: ComponentAttributesFn | None = None
    # Attributes that need Home Assistant itself (the user's language, a signed link).
    hass_attributes_fn: Callable[[SiteCoordinator, datetime], dict[str, Any]] | None = None
    # For the model's counter estimates: which counter, so the figure already shown is kept to.
    estimates: str | None = None


def _always(_: SiteCoordinator, __: Component | None) -> bool:
    return True


def _has_any(*quantities: str) -> Callable[[SiteCoordinator, Component | None], bool]:
    def exists(_: SiteCoordinator, component: Component | None) -> bool:
        return component is not None and any(q in component.values for q in quantities)

    return exists


def _measured(
    key: str,
    kind: Kind,
    *,
    unit: str | None = None,
    device_class: SensorDeviceClass | None = None,
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT,
    precision: int | None = None,
    category: EntityCategory | None = None,
    enabled: bool = True,
    options: tuple[str, ...] | None = None,
) -> SotSensorDescription:
    return SotSensorDescription(
        key=key,
        kind=kind,
        translation_key=key,
        native_unit_of_measurement=unit,
        device_class=device_class,
        state_class=None if options else state_class,
        suggested_display_precision=precision,
        entity_category=category,
        entity_registry_enabled_default=enabled,
        options=list(options) if options else None,
    )


def _fuel_figure(site: Site, now: datetime) -> Figure | None:
    """Hours at the present load while a set runs, at the typical load while none does (on
    the grid); unknown while whether one runs is unknown (a silent controller): the typical
    load would be an optimistic guess at a set that may be carrying the whole site."""
    running = site.power.any_running(now)
    if running is None:
        return None
    if running:
        return site.fuel.present(now)
    return site.fuel.typical(now)


def _fuel_runtime(site: Site, _: Component | None, now: datetime) -> StateType:
    figure = _fuel_figure(site, now)
    return None if figure is None else round(figure.hours, 2)


def _fuel_typical(site: Site, _: Component | None, now: datetime) -> StateType:
    figure = site.fuel.typical(now)
    return None if figure is None else round(figure.hours, 2)


def _fuel_available(site: Site, _: Component | None, now: datetime) -> bool:
    # Unknown (not unavailable) while the tank level is live but no rate is known yet.
    return site.fuel.usable(now) is not None


def _figure_attributes(figure: Figure | None) -> dict[str, Any]:
    """What a fuel figure assumes: the load and which, the rate, its source and correction."""
    if figure is None:
        return {"assumes": None}
    return {
        "assumes": figure.basis,
        "assumed_load_kw": None if figure.load is None else round(figure.load, 1),
        "fuel_rate": round(figure.rate, 2),
        "usable_litres": round(figure.usable),
        "rate_source": figure.source,
        "rate_correction": round(figure.correction, 3),
    }


def _fuel_runtime_attributes(site: Site, now: datetime) -> dict[str, Any]:
    estimate = site.fuel.estimate
    refill = estimate.refills[-1] if estimate.refills else None
    drain = estimate.drains[-1] if estimate.drains else None
    return {
        **_figure_attributes(_fuel_figure(site, now)),
        "last_refill": None if refill is None else _tally(refill.time, refill.litres),
        "last_drain": None if drain is None else _tally(drain.time, drain.litres),
        "draining": estimate.draining is not None,
    }


def _fuel_typical_attributes(site: Site, now: datetime) -> dict[str, Any]:
    return _figure_attributes(site.fuel.typical(now))


def _tally(time: float | datetime, litres: float) -> dict[str, Any]:
    """A refill or drain as the attributes show it."""
    moment = time if isinstance(time, datetime) else datetime.fromtimestamp(time, UTC)
    return {"time": moment.isoformat(), "litres": litres}


def _power_source(site: Site, _: Component | None, now: datetime) -> StateType:
    source = site.power.source(now)
    return None if source is None else source.value


def _outage_minutes(site: Site, _: Component | None, now: datetime) -> StateType:
    duration = site.outages.duration(now)
    return 0 if duration is None else round(duration.total_seconds() / 60)


def _outage_attributes(site: Site, now: datetime) -> dict[str, Any]:
    """When the present outage began, and the last one that ended (from the outage log)."""
    log = site.outages.log
    last = log[-1] if log else None
    current = site.outages.current
    return {
        "started": current.start.isoformat() if current else None,
        "last_outage": None
        if last is None or last.end is None
        else {
            "start": last.start.isoformat(),
            "end": last.end.isoformat(),
            # One decimal, as the grid_restored event says it: a 25 s outage is 0.4, not 0.
            "minutes": round((last.end - last.start).total_seconds() / 60, 1),
            "generator_hours": round(last.generator_seconds / 3600, 2),
            "fuel_used": round(last.fuel_used, 1),
            "refills": [_tally(time, litres) for time, litres in last.refills],
        },
        "refills": [] if current is None else [_tally(t, v) for t, v in current.refills],
        "outages_logged": len(log),
    }


def _freezer_status(site: Site, component: Component | None, now: datetime) -> StateType:
    status = None if component is None else site.freezers.status(component, now)
    return None if status is None else status.value


def _time_to(limit_index: int) -> ValueFn:
    def value(site: Site, component: Component | None, now: datetime) -> StateType:
        if component is None:
            return None
        limit = site.freezers.limits(component)[limit_index]
        hours = site.freezers.time_to_limit(component, limit, now)
        return None if hours is None else round(hours, 2)

    return value


def _countdown_attributes(limit_index: int) -> ComponentAttributesFn:
    """A countdown's bounds and what it rests on; since when a crossed limit was crossed."""

    def attributes(site: Site, component: Component | None, now: datetime) -> dict[str, Any]:
        if component is None:
            return {}
        limit = site.freezers.limits(component)[limit_index]
        countdown = site.freezers.countdown(component, limit, now)
        if countdown is None:
            return {"limit": limit, "crossed": False}

        def hours(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        def when(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "limit": limit,
            "crossed": countdown.crossed_since is not None,
            "crossed_since": when(countdown.crossed_since),
            "estimate": hours(countdown.estimate),
            "low": hours(countdown.low),
            "high": hours(countdown.high),
            "warming_since": when(countdown.warming_since),
            "warming_basis": countdown.basis,
            "room_temperature": countdown.room,
            "room_temperature_source": countdown.room_source,
            "time_constant_h": None if countdown.tau is None else round(countdown.tau, 1),
        }

    return attributes


def _temperature_live(site: Site, component: Component | None, now: datetime) -> bool:
    return component is not None and site.fresh(component, "temperature", now) is not None


def _estimate(
    counter: str, value: Callable[[GeneratorRun], float], *sources: str
) -> dict[str, Any]:
    """The model's own figure for a counter the generator's controller does not report.

    A controller counter and the model's estimate are never one entity: the Energy dashboard
    and the statistics would take a switch between them for a meter reset. Which one a
    generator has is decided by whether its controller ever reported the counter (kept across
    restarts); the estimate goes unavailable, never over to the other, if it starts to.
    """

    def exists(_: SiteCoordinator, component: Component | None) -> bool:
        return (
            component is not None
            and counter not in component.reported
            and any(q in component.values for q in sources)
        )

    def shown(site: Site, component: Component | None, now: datetime) -> StateType:
        return None if component is None else round(value(site.run(component)), 3)

    def available(site: Site, component: Component | None, now: datetime) -> bool:
        return (
            component is not None
            and counter not in component.reported
            and site.available(component, now)
        )

    return {
        "exists_fn": exists,
        "value_fn": shown,
        "available_fn": available,
        "estimates": counter,
    }


SENSORS: tuple[SotSensorDescription, ...] = (
    # The site as a whole.
    SotSensorDescription(
        key="power_source",
        translation_key="power_source",
        device_class=SensorDeviceClass.ENUM,
        options=[source.value for source in PowerSource],
        exists_fn=_always,
        value_fn=_power_source,
        available_fn=lambda site, _, now: site.power.source(now) is not None,
    ),
    SotSensorDescription(
        key="outage_duration",
        translation_key="outage_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        state_class=SensorStateClass.MEASUREMENT,
        exists_fn=_always,
        value_fn=_outage_minutes,
        attributes_fn=_outage_attributes,
        available_fn=lambda site, _, now: site.power.grid_present(now) is not None,
    ),
    SotSensorDescription(
        key="fuel_runtime",
        translation_key="fuel_runtime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        exists_fn=lambda coordinator, _: bool(coordinator.site.of_kind(Kind.TANK)),
        value_fn=_fuel_runtime,
        attributes_fn=_fuel_runtime_attributes,
        available_fn=_fuel_available,
    ),
    SotSensorDescription(
        key="fuel_runtime_typical",
        translation_key="fuel_runtime_typical",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        exists_fn=lambda coordinator, _: bool(coordinator.site.of_kind(Kind.TANK)),
        value_fn=_fuel_typical,
        attributes_fn=_fuel_typical_attributes,
        available_fn=_fuel_available,
    ),
    SotSensorDescription(
        key="readiness",
        translation_key="readiness",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in Readiness],
        exists_fn=_always,
        value_fn=readiness_state,
        hass_attributes_fn=readiness_attributes,
        # Silence is one of its reasons, never a reason to be unavailable.
        available_fn=lambda _, __, ___: True,
    ),
    SotSensorDescription(
        key="cold_chain",
        translation_key="cold_chain",
        device_class=SensorDeviceClass.TIMESTAMP,
        exists_fn=cold_chain_exists,
        value_fn=cold_chain_state,
        hass_attributes_fn=cold_chain_attributes,
        available_fn=lambda _, __, ___: True,
    ),
    # Grid.
    _measured(
        "voltage",
        Kind.GRID,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=0,
    ),
    _measured(
        "frequency",
        Kind.GRID,
        unit=UnitOfFrequency.HERTZ,
        device_class=SensorDeviceClass.FREQUENCY,
        precision=2,
    ),
    _measured(
        "power",
        Kind.GRID,
        unit=UnitOfPower.KILO_WATT,
        device_class=SensorDeviceClass.POWER,
        precision=1,
    ),
    _measured(
        "energy",
        Kind.GRID,
        unit=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=1,
    ),
    # Generator.
    _measured(
        "state", Kind.GENERATOR, device_class=SensorDeviceClass.ENUM, options=GENERATOR_STATES
    ),
    _measured("mode", Kind.GENERATOR, device_class=SensorDeviceClass.ENUM, options=GENERATOR_MODES),
    _measured(
        "alarm",
        Kind.GENERATOR,
        device_class=SensorDeviceClass.ENUM,
        options=GENERATOR_ALARMS,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _measured(
        "power",
        Kind.GENERATOR,
        unit=UnitOfPower.KILO_WATT,
        device_class=SensorDeviceClass.POWER,
        precision=1,
    ),
    _measured("load", Kind.GENERATOR, unit=PERCENTAGE, precision=0),
    _measured(
        "voltage",
        Kind.GENERATOR,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=0,
    ),
    _measured(
        "frequency",
        Kind.GENERATOR,
        unit=UnitOfFrequency.HERTZ,
        device_class=SensorDeviceClass.FREQUENCY,
        precision=1,
    ),
    _measured(
        "current",
        Kind.GENERATOR,
        unit=UnitOfElectricCurrent.AMPERE,
        device_class=SensorDeviceClass.CURRENT,
        precision=1,
        enabled=False,
    ),
    _measured(
        "oil_pressure",
        Kind.GENERATOR,
        unit=UnitOfPressure.KPA,
        device_class=SensorDeviceClass.PRESSURE,
        precision=0,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _measured(
        "coolant_temperature",
        Kind.GENERATOR,
        unit=UnitOfTemperature.CELSIUS,
        device_class=SensorDeviceClass.TEMPERATURE,
        precision=0,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _measured(
        "battery_voltage",
        Kind.GENERATOR,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=1,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _measured(
        "speed",
        Kind.GENERATOR,
        unit=REVOLUTIONS_PER_MINUTE,
        precision=0,
        category=EntityCategory.DIAGNOSTIC,
        enabled=False,
    ),
    _measured(
        "fuel_rate",
        Kind.GENERATOR,
        unit=UnitOfVolumeFlowRate.LITERS_PER_HOUR,
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        precision=1,
    ),
    _measured(
        "starts",
        Kind.GENERATOR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=0,
        category=EntityCategory.DIAGNOSTIC,
    ),
    # The controller's own counters, as it reports them.
    _measured(
        "run_hours",
        Kind.GENERATOR,
        unit=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=1,
    ),
    _measured(
        "energy",
        Kind.GENERATOR,
        unit=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=1,
    ),
    # The model's estimates, for controllers that keep no such counter.
    SotSensorDescription(
        key="run_hours_estimated",
        kind=Kind.GENERATOR,
        translation_key="run_hours_estimated",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
        **_estimate("run_hours", lambda run: run.seconds / 3600, "state", "speed"),
    ),
    SotSensorDescription(
        key="energy_estimated",
        kind=Kind.GENERATOR,
        translation_key="energy_estimated",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
        **_estimate("energy", lambda run: run.kwh, "power"),
    ),
    # Tank.
    _measured("level", Kind.TANK, unit=PERCENTAGE, precision=0),
    _measured(
        "volume",
        Kind.TANK,
        unit=UnitOfVolume.LITERS,
        device_class=SensorDeviceClass.VOLUME_STORAGE,
        precision=0,
    ),
    # Freezers.
    _measured(
        "temperature",
        Kind.FREEZER,
        unit=UnitOfTemperature.CELSIUS,
        device_class=SensorDeviceClass.TEMPERATURE,
        precision=1,
    ),
    SotSensorDescription(
        key="status",
        kind=Kind.FREEZER,
        translation_key="freezer_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in FreezerStatus],
        exists_fn=_has_any("temperature"),
        value_fn=_freezer_status,
        available_fn=_temperature_live,
    ),
    SotSensorDescription(
        key="time_to_warning",
        kind=Kind.FREEZER,
        translation_key="time_to_warning",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        exists_fn=_has_any("temperature"),
        value_fn=_time_to(0),
        component_attributes_fn=_countdown_attributes(0),
        available_fn=_temperature_live,
    ),
    SotSensorDescription(
        key="time_to_critical",
        kind=Kind.FREEZER,
        translation_key="time_to_critical",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        exists_fn=_has_any("temperature"),
        value_fn=_time_to(1),
        component_attributes_fn=_countdown_attributes(1),
        available_fn=_temperature_live,
    ),
    # Loads.
    _measured(
        "power",
        Kind.LOAD,
        unit=UnitOfPower.KILO_WATT,
        device_class=SensorDeviceClass.POWER,
        precision=2,
    ),
    # What the site offers: the whole, and each service it offers.
    SotSensorDescription(
        key="services",
        translation_key="services",
        device_class=SensorDeviceClass.ENUM,
        options=STATUSES,
        exists_fn=_always,
        value_fn=site_status,
        hass_attributes_fn=site_attributes,
        # Unknown, not unavailable, when the site cannot be told: silence is part of the answer.
        available_fn=lambda _, __, ___: True,
    ),
    *(
        SotSensorDescription(
            key=f"service_{name}",
            translation_key=f"service_{name}",
            device_class=SensorDeviceClass.ENUM,
            options=STATUSES,
            exists_fn=service_exists(name),
            value_fn=service_status(name),
            hass_attributes_fn=service_attributes(name),
            available_fn=lambda _, __, ___: True,
        )
        for name in SERVICES
    ),
    # Fuel for sale: each product of the station.
    _measured(
        "volume",
        Kind.STATION,
        unit=UnitOfVolume.LITERS,
        device_class=SensorDeviceClass.VOLUME_STORAGE,
        precision=0,
    ),
    _measured("level", Kind.STATION, unit=PERCENTAGE, precision=0),
    _measured(
        "ullage",
        Kind.STATION,
        unit=UnitOfVolume.LITERS,
        device_class=SensorDeviceClass.VOLUME_STORAGE,
        precision=0,
    ),
    SotSensorDescription(
        key="for_sale",
        kind=Kind.STATION,
        translation_key="for_sale",
        device_class=SensorDeviceClass.VOLUME_STORAGE,
        native_unit_of_measurement=UnitOfVolume.LITERS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        exists_fn=measures_stock,
        value_fn=for_sale,
        available_fn=lambda site, c, now: c is not None and site.station.volume(c, now) is not None,
    ),
    SotSensorDescription(
        key="sold",
        kind=Kind.STATION,
        translation_key="sold",
        device_class=SensorDeviceClass.VOLUME,
        native_unit_of_measurement=UnitOfVolume.LITERS,
        # Starts again from 0 at each outage and may step back a little (the gauge's wobble):
        # neither a measurement nor a meter, so no long-term statistics.
        suggested_display_precision=0,
        exists_fn=measures_stock,
        value_fn=sold,
        available_fn=lambda site, c, now: c is not None and site.station.volume(c, now) is not None,
    ),
    SotSensorDescription(
        key="status",
        kind=Kind.STATION,
        translation_key="product_status",
        device_class=SensorDeviceClass.ENUM,
        options=STATUSES,
        exists_fn=lambda _, component: component is not None,
        value_fn=product_status,
        available_fn=lambda _, __, ___: True,
    ),
    # Network devices and rooms.
    _measured(
        "signal",
        Kind.NETWORK,
        unit=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        precision=0,
    ),
    SotSensorDescription(
        key="temperature",
        kind=Kind.ROOM,
        translation_key="room_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's sensors, now and as components appear."""
    async_setup_discovery(entry, async_add_entities, SENSORS, _sensor)


def _sensor(
    coordinator: SiteCoordinator, description: SotSensorDescription, component_id: str | None
) -> SotSensor:
    kind = SotEstimateSensor if description.estimates else SotSensor
    return kind(coordinator, description, component_id)


class SotSensor(SotEntity, SensorEntity):
    """A measured or derived value of a SOT point."""

    entity_description: SotSensorDescription
    # The outage summary changes once per outage; the recorder need not store it every minute.
    # The readiness's texts in every language say again what its `reasons` and `texts` keep.
    _unrecorded_attributes = frozenset(
        {"started", "last_outage", "outages_logged", "csv_url", "all_csv_url", "texts_by_language"}
    )
    # Whether Home Assistant converts the value to a unit the user chose (None: not known yet).
    _converts: bool | None = None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra figures for the rows that have them (the outage log's summary)."""
        if (pinned := self._pinned) is not None and pinned[0]:
            return pinned[2]  # type: ignore[no-any-return]
        return self._with_clock(self._own_attributes(self.coordinator.now()))

    def _with_clock(self, attributes: dict[str, Any] | None) -> dict[str, Any] | None:
        """A site on the demo's clock says so on every sensor: its figures are in storm time."""
        clock = self.coordinator.clock
        if clock is None:
            return attributes
        return {**(attributes or {}), DEMO_CLOCK_SPEED: clock.speed}

    def _own_attributes(self, now: datetime) -> dict[str, Any] | None:
        if (with_hass := self.entity_description.hass_attributes_fn) is not None:
            return with_hass(self.coordinator, now)
        if (of_component := self.entity_description.component_attributes_fn) is not None:
            return of_component(self.coordinator.site, self.component, now)
        attributes = self.entity_description.attributes_fn
        return None if attributes is None else attributes(self.coordinator.site, now)

    def _follows(self) -> str:
        description = self.entity_description
        derived = (
            description.value_fn,
            description.available_fn,
            description.attributes_fn,
            description.component_attributes_fn,
            description.hass_attributes_fn,
            description.estimates,
        )
        if description.kind is None or any(part is not None for part in derived):
            return ""
        # The reading of its quantity as it came: no other reading changes it.
        return description.key

    def _shown_now(self) -> tuple[Any, ...]:
        if not self._followed:
            return super()._shown_now()
        # A quantity as it came (most of a site's sensors, and most messages): its one value,
        # looked up once, decides availability and state.
        coordinator, key = self.coordinator, self._component_key
        site = coordinator.site
        component = None if key is None else site.components.get(key)
        value = (
            None if component is None else site.fresh(component, self._followed, coordinator.now())
        )
        if value is None or not coordinator.last_update_success:
            return (False,)
        clock = coordinator.clock
        return (
            True,
            None if isinstance(value, bool) else value,
            None if clock is None else {DEMO_CLOCK_SPEED: clock.speed},
        )

    def _written(self, shown: tuple[Any, ...]) -> tuple[Any, ...]:
        if shown[0] and isinstance(shown[1], int | float):
            if self._converts is None:
                self._converts = self.unit_of_measurement != self.native_unit_of_measurement
            if not self._converts:
                return shown  # no unit to convert to: the state is the number itself
        return super()._written(shown)

    @callback
    def async_registry_entry_updated(self) -> None:
        """The entity's settings changed: the user may have chosen another unit."""
        super().async_registry_entry_updated()
        self._converts = None

    def _shown_value(self) -> Any:
        # The sensor's state is its native value in the user's unit: it changes when the native
        # value does (a unit chosen in the entity settings writes the state by itself), and is
        # much dearer to work out on every message.
        return self.native_value

    @property
    def native_value(self) -> StateType | datetime:
        """The live value (None while unknown)."""
        if (pinned := self._pinned) is not None and pinned[0]:
            return pinned[1]  # type: ignore[no-any-return]
        site, component, now = self.coordinator.site, self.component, self.coordinator.now()
        if self.entity_description.value_fn is not None:
            return self.entity_description.value_fn(site, component, now)
        if component is None:
            return None
        value = site.fresh(component, self.entity_description.key, now)
        return None if value is None or isinstance(value, bool) else value


class SotEstimateSensor(SotSensor, RestoreSensor):
    """A counter the model integrates: never shown lower than it was shown before.

    The saved state can be older than the last figure shown when Home Assistant was killed;
    the figure the recorder (else the restore state) last holds is the floor the count resumes
    from, so the statistics never see a meter reset.
    """

    async def async_added_to_hass(self) -> None:
        """Find the last figure shown before the first one is written."""
        await super().async_added_to_hass()
        counter = self.entity_description.estimates
        if counter is None or self.component_id is None:
            return
        shown = await _last_recorded(self.hass, self.entity_id)
        if shown is None and (restored := await self.async_get_last_sensor_data()) is not None:
            value = restored.native_value
            shown = float(value) if isinstance(value, int | float) else None
        if shown is not None:
            self.coordinator.async_counter_floor(self.component_id, counter, shown)


async def _last_recorded(hass: HomeAssistant, entity_id: str) -> float | None:
    """The highest of the entity's last recorded numbers, if the recorder runs."""
    if "recorder" not in hass.config.components:
        return None
    from homeassistant.components.recorder import history  # noqa: PLC0415
    from homeassistant.helpers.recorder import get_instance  # noqa: PLC0415

    try:
        states = await get_instance(hass).async_add_executor_job(
            history.get_last_state_changes, hass, _RECORDED_STATES, entity_id
        )
    except Exception:  # a recorder that cannot answer must not lose the entity
        _LOGGER.warning("%s: the recorder could not say its last figure", entity_id)
        return None
    numbers: list[float] = []
    for state in states.get(entity_id, []):
        try:
            numbers.append(float(state.state))
        except ValueError:
            continue  # unavailable while the site was reloading
    return max(numbers, default=None)
