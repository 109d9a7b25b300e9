"""One SOT point: grid, generator, tank, freezers and loads, stepped in simulated time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from .controller import AlarmLevel, Controller, Key, Mode, Phase, Timers
from .physics import Freezer, fuel_rate

# Longest step the physics and the controller take at once; timers are seconds long.
MAX_STEP_S: Final = 1.0
NOMINAL_VOLTAGE: Final = 230.0
NOMINAL_FREQUENCY: Final = 50.0
POWER_FACTOR: Final = 0.8


class Source(StrEnum):
    """What feeds the site right now."""

    GRID = "grid"
    GENERATOR = "generator"
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class FreezerSpec:
    """A freezer cabinet and the load relay that powers it."""

    id: str
    tau_h: float
    start_c: float = -19.5
    setpoint_c: float = -20.0
    compressor_kw: float = 0.7
    warning_c: float | None = None
    critical_c: float | None = None


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    """A switched load: its relay, nominal power and shedding tier (1 is never shed)."""

    id: str
    power_kw: float
    priority: int
    freezers: tuple[str, ...] = ()
    initially_on: bool = True
    # The services it keeps going, as its meta says (`food`, `fuel`, `warm_room` ...).
    provides: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ProductSpec:
    """A fuel the station sells: its tank, the litres kept back, how fast it sells."""

    id: str
    capacity_l: float
    start_l: float
    reserve_l: float
    # While the pumps have power: neighbours and road crews filling up.
    sales_l_per_h: float


@dataclass(frozen=True, kw_only=True)
class WarmRoomSpec:
    """The warm room: heated by the building while the grid is there, else by a load."""

    id: str = "warm"
    heater: str = "heater"
    start_c: float = 20.0
    # The building's own heating (on the grid) and the heater's (a hot-air heater warms fast).
    building_c: float = 20.0
    heater_c: float = 23.0
    tau_building_h: float = 3.0
    tau_heater_h: float = 0.75
    # Without heat the room cools towards the outdoor temperature, slowly (a school's walls).
    tau_cooling_h: float = 10.0


@dataclass(frozen=True, kw_only=True)
class SiteSpec:
    """Everything fixed about a site; the demo and the tests build sites from these."""

    id: str
    name: str
    generator_rating_kw: float
    tank_capacity_l: float
    tank_reserve_pct: float
    tank_start_pct: float
    freezers: tuple[FreezerSpec, ...]
    loads: tuple[LoadSpec, ...]
    auto_transfer: bool = True
    generator_mode: Mode = Mode.AUTO
    low_fuel_pct: float = 20.0
    room_c: float = 19.0
    outdoor_c: float = -5.0
    # What the station sells, the warm room, and the router and card terminal (on the
    # store's supply: online while the site has power).
    products: tuple[ProductSpec, ...] = ()
    warm_room: WarmRoomSpec | None = None
    network: bool = False
    # How the site's devices reach Home Assistant.
    modbus: bool = False
    generator_over_mqtt: bool = True
    grid_over_mqtt: bool = True
    timers: Timers = field(default_factory=Timers)


@dataclass(kw_only=True)
class Load:
    """A load relay's state."""

    spec: LoadSpec
    on: bool


class Site:
    """The whole site's state. `step` advances it; the other methods are what people do."""

    def __init__(self, spec: SiteSpec, start: datetime) -> None:
        self.spec = spec
        self.start = start
        self.elapsed_s = 0.0
        self.grid_present = True
        self.changeover_to_generator = False
        self.generator = Controller(
            mode=spec.generator_mode, auto_transfer=spec.auto_transfer, timers=spec.timers
        )
        self.tank_l = spec.tank_capacity_l * spec.tank_start_pct / 100.0
        self.freezers = {
            f.id: Freezer(
                id=f.id,
                tau_h=f.tau_h,
                room_c=spec.room_c,
                setpoint_c=f.setpoint_c,
                compressor_kw=f.compressor_kw,
                temperature_c=f.start_c,
            )
            for f in spec.freezers
        }
        self.loads = {ld.id: Load(spec=ld, on=ld.initially_on) for ld in spec.loads}
        self.stock_l = {p.id: p.start_l for p in spec.products}
        self.warm_room_c = spec.warm_room.start_c if spec.warm_room is not None else spec.room_c
        self.grid_energy_kwh = 12_345.0
        self.coolant_c = 40.0
        self.battery_v = 13.5
        self.noise = 0.0
        self.log: list[tuple[float, str]] = []
        # Bumped on every discrete change, so publishers send at once instead of on their tick.
        self.revision = 0
        self._fuel_rate = 0.0

    # --- what the outside world reads -------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated wall clock."""
        return self.start + timedelta(seconds=self.elapsed_s)

    @property
    def source(self) -> Source:
        """What feeds the site's loads right now."""
        if self.generator.breaker_closed:
            return Source.GENERATOR
        if self.changeover_to_generator and not self.spec.auto_transfer:
            return Source.NONE
        return Source.GRID if self.grid_present else Source.NONE

    @property
    def powered(self) -> bool:
        """The site's busbar has voltage."""
        return self.source != Source.NONE

    def load_power_kw(self, load_id: str) -> float:
        """Power one load draws now: nothing when its relay is open or the site is dark."""
        load = self.loads[load_id]
        if not (load.on and self.powered):
            return 0.0
        if load.spec.freezers:
            return sum(self.freezers[f].power_kw for f in load.spec.freezers)
        # Small, repeatable wobble so graphs look alive without upsetting tests.
        return load.spec.power_kw * (1.0 + 0.01 * self.noise)

    @property
    def site_power_kw(self) -> float:
        """Total power the site draws."""
        return sum(self.load_power_kw(load_id) for load_id in self.loads)

    @property
    def generator_power_kw(self) -> float:
        """Power the generator delivers (the site's load while its breaker is closed)."""
        return self.site_power_kw if self.generator.breaker_closed else 0.0

    @property
    def generator_load_pct(self) -> float:
        """Generator load, % of its rating."""
        return 100.0 * self.generator_power_kw / self.spec.generator_rating_kw

    @property
    def grid_power_kw(self) -> float:
        """Power imported from the grid."""
        return self.site_power_kw if self.source == Source.GRID else 0.0

    @property
    def grid_voltage(self) -> float:
        """Mains phase voltage, V."""
        return NOMINAL_VOLTAGE + 2.0 * self.noise if self.grid_present else 0.0

    @property
    def grid_frequency(self) -> float:
        """Mains frequency, Hz."""
        return NOMINAL_FREQUENCY + 0.03 * self.noise if self.grid_present else 0.0

    @property
    def generator_voltage(self) -> float:
        """Generator phase voltage, V."""
        return NOMINAL_VOLTAGE + 1.0 * self.noise if self.generator.engine_running else 0.0

    @property
    def generator_frequency(self) -> float:
        """Generator frequency, Hz."""
        return NOMINAL_FREQUENCY + 0.05 * self.noise if self.generator.engine_running else 0.0

    @property
    def generator_current(self) -> float:
        """Generator phase current, A (three phases, balanced)."""
        return 1000.0 * self.generator_power_kw / (3 * NOMINAL_VOLTAGE * POWER_FACTOR)

    @property
    def engine_speed(self) -> float:
        """Engine speed, rpm."""
        if self.generator.engine_running:
            return 1500.0 + 3.0 * self.noise
        if self.generator.phase == Phase.CRANKING:
            return 250.0
        return 0.0

    @property
    def oil_pressure(self) -> float:
        """Oil pressure, kPa."""
        if self.generator.engine_running:
            return 380.0 + 5.0 * self.noise
        return 90.0 if self.generator.phase == Phase.CRANKING else 0.0

    @property
    def fuel_rate(self) -> float:
        """Diesel burnt now, L/h."""
        return self._fuel_rate

    @property
    def pumps_powered(self) -> bool:
        """The dispensers have power: the loads that feed them are on and the site powered."""
        pumps = [load for load in self.loads.values() if "fuel" in load.spec.provides]
        return self.powered and all(load.on for load in pumps)

    @property
    def network_online(self) -> bool:
        """The router (and the card terminal behind it) reach the outside: they need power."""
        return self.spec.network and self.powered

    @property
    def mobile_signal_dbm(self) -> float:
        """The router's mobile signal, RSSI: weaker in the storm's wet snow."""
        return -88.0 + 3.0 * self.noise - (0.0 if self.grid_present else 6.0)

    @property
    def tank_level_pct(self) -> float:
        """Tank level, % of capacity."""
        return 100.0 * self.tank_l / self.spec.tank_capacity_l

    @property
    def generator_state(self) -> str:
        """The contract's generator state word."""
        match self.generator.phase:
            case Phase.STOPPED:
                return "stopped"
            case Phase.START_DELAY | Phase.CRANKING | Phase.CRANK_REST:
                return "starting"
            case Phase.SAFETY_ON | Phase.WARMING_UP:
                return "warming_up"
            case Phase.RUNNING:
                return "running"
            case Phase.COOLING_DOWN:
                return "cooling_down"
            case Phase.STOPPING:
                return "stopping"
            case Phase.FAILED:
                return "fault"

    @property
    def generator_alarm(self) -> str:
        """The contract's alarm word: the worst active alarm."""
        return {
            AlarmLevel.WARNING: "warning",
            AlarmLevel.SHUTDOWN: "shutdown",
            AlarmLevel.TRIP: "trip",
        }.get(self.generator.alarm_level(), "ok")

    # --- what people and scenarios do ------------------------------------------------

    def note(self, text: str) -> None:
        """Record something that happened, for the console and the tests."""
        self.log.append((self.elapsed_s, text))
        self.revision += 1

    def set_grid(self, present: bool) -> None:
        """The grid fails or returns."""
        if present != self.grid_present:
            self.grid_present = present
            self.note("grid restored" if present else "grid lost")

    def set_changeover(self, to_generator: bool) -> None:
        """Move a manual changeover switch (sites without an automatic transfer switch)."""
        self.changeover_to_generator = to_generator
        self.note("changeover to generator" if to_generator else "changeover to grid")

    def set_load(self, load_id: str, on: bool) -> bool:
        """Switch a load relay; False when the site has no such load."""
        load = self.loads.get(load_id)
        if load is None:
            return False
        if load.on != on:
            load.on = on
            self.note(f"load {load_id} {'on' if on else 'off'}")
        return True

    def press_key(self, key: int) -> bool:
        """A control key reaches the generator controller."""
        accepted = self.generator.press(key)
        try:
            name = Key(key).name.lower()
        except ValueError:
            name = str(key)
        self.note(f"generator key {name} {'accepted' if accepted else 'refused'}")
        return accepted

    def start_generator_at_panel(self) -> bool:
        """Someone presses Start on the controller itself (manual mode)."""
        accepted = self.generator.start_at_panel()
        self.note("generator start pressed at its panel" + ("" if accepted else ": not in manual"))
        return accepted

    def stop_generator_at_panel(self) -> bool:
        """Someone stops a set started by hand at the controller itself (manual mode)."""
        accepted = self.generator.stop_at_panel()
        self.note("generator stop pressed at its panel" + ("" if accepted else ": not in manual"))
        return accepted

    def set_door(self, freezer_id: str, is_open: bool) -> bool:
        """Open or close a freezer door; False when the site has no such freezer."""
        freezer = self.freezers.get(freezer_id)
        if freezer is None:
            return False
        freezer.door_open = is_open
        self.note(f"freezer {freezer_id} door {'open' if is_open else 'closed'}")
        return True

    def refuel(self, litres: float) -> None:
        """A delivery: the tank gains `litres`, never past its capacity."""
        self.tank_l = min(self.spec.tank_capacity_l, self.tank_l + litres)
        self.note(f"refuelled {litres:.0f} L")

    def fail_next_start(self) -> None:
        """The next start attempt cranks without firing (a weak battery, air in the fuel)."""
        self.generator.fail_next_start = True
        self.note("next generator start will fail")

    # --- time ----------------------------------------------------------------------

    def step(self, seconds: float) -> None:
        """Advance the whole site by `seconds` of simulated time."""
        while seconds > 1e-9:
            dt = min(seconds, MAX_STEP_S)
            self._step(dt)
            seconds -= dt

    def _step(self, dt: float) -> None:
        before = (self.generator.phase, self.generator.breaker_closed, self.source)
        self.elapsed_s += dt
        # A slow, smooth wobble, the same on every run.
        self.noise = math.sin(self.elapsed_s / 97.0) * 0.6 + math.sin(self.elapsed_s / 13.0) * 0.4

        gen = self.generator
        gen.step(
            dt,
            mains_present=self.grid_present,
            load_percent=self.generator_load_pct,
            fuel_empty=self.tank_l <= 0.0,
            changeover_to_generator=self.changeover_to_generator,
        )
        powered = self.powered
        for load in self.loads.values():
            for freezer_id in load.spec.freezers:
                self.freezers[freezer_id].powered = load.on and powered
        for freezer in self.freezers.values():
            freezer.step(dt)

        hours = dt / 3600.0
        power = self.generator_power_kw
        if gen.engine_running:
            self._fuel_rate = fuel_rate(self.spec.generator_rating_kw, power)
            self.tank_l = max(0.0, self.tank_l - self._fuel_rate * hours)
            gen.energy_kwh += power * hours
        else:
            self._fuel_rate = 0.0
        self.grid_energy_kwh += self.grid_power_kw * hours
        self._step_station(hours)
        self._step_warm_room(hours)
        if self.tank_level_pct < self.spec.low_fuel_pct:
            gen.alarms.setdefault("low_fuel_level", AlarmLevel.WARNING)
        elif gen.alarms.get("low_fuel_level") == AlarmLevel.WARNING:
            del gen.alarms["low_fuel_level"]

        self._step_engine_temperatures(dt)
        after = (gen.phase, gen.breaker_closed, self.source)
        if after != before:
            self.revision += 1
            if after[0] != before[0]:
                self.note(f"generator {gen.phase.value}")

    def _step_station(self, hours: float) -> None:
        """Fuel sold while the pumps have power, down to the litres kept back."""
        if not self.pumps_powered:
            return
        for product in self.spec.products:
            stock = self.stock_l[product.id]
            if stock > product.reserve_l:
                sold = product.sales_l_per_h * hours
                self.stock_l[product.id] = max(product.reserve_l, stock - sold)

    def _step_warm_room(self, hours: float) -> None:
        """The warm room's air (Newton): towards the heat it gets, else towards outdoors."""
        room = self.spec.warm_room
        if room is None:
            return
        heater = self.loads.get(room.heater)
        if heater is not None and heater.on and self.powered:
            target, tau = room.heater_c, room.tau_heater_h
        elif self.grid_present:
            target, tau = room.building_c, room.tau_building_h
        else:
            target, tau = self.spec.outdoor_c, room.tau_cooling_h
        self.warm_room_c += (target - self.warm_room_c) * (1 - math.exp(-hours / tau))

    def _step_engine_temperatures(self, dt: float) -> None:
        gen = self.generator
        if gen.engine_running:
            coolant_target, tau_s = 82.0 + 6.0 * self.generator_load_pct / 100.0, 600.0
            battery_target = 14.1
        else:
            # The block heater and the battery charger run on mains.
            coolant_target = 40.0 if self.grid_present else self.spec.outdoor_c
            tau_s = 3600.0
            battery_target = 13.5 if self.grid_present else 12.6
        self.coolant_c += (coolant_target - self.coolant_c) * (1 - math.exp(-dt / tau_s))
        if gen.phase == Phase.CRANKING:
            self.battery_v = 10.4
        else:
            self.battery_v += (battery_target - self.battery_v) * (1 - math.exp(-dt / 30.0))
