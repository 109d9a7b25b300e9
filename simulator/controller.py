"""A Deep Sea (DSE) style generator controller: modes, start/stop sequence, breaker, alarms.

Sequence and typical timers of Deep Sea controllers: start delay → crank / rest × N (then "fail to
start") → safety-on delay → warm-up → available (on load); stop: return delay → cool-down →
stop. The controller is stepped by its owner with the simulated seconds that passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Final


class Mode(IntEnum):
    """Control mode, as register 772 reports it."""

    STOP = 0
    AUTO = 1
    MANUAL = 2
    TEST = 3


class Phase(StrEnum):
    """Where the engine is in its sequence (finer than what the controller reports)."""

    STOPPED = "stopped"
    START_DELAY = "start_delay"
    CRANKING = "cranking"
    CRANK_REST = "crank_rest"
    SAFETY_ON = "safety_on"
    WARMING_UP = "warming_up"
    RUNNING = "running"
    COOLING_DOWN = "cooling_down"
    STOPPING = "stopping"
    FAILED = "failed"


class Key(IntEnum):
    """System control keys written to 4104 with their complement at 4105."""

    STOP_MODE = 35700
    AUTO_MODE = 35701
    MANUAL_MODE = 35702
    REMOTE_START = 35732
    REMOTE_STOP = 35733


class AlarmLevel(IntEnum):
    """Named-alarm nibble values (GenComm page 154)."""

    DISABLED = 0
    INACTIVE = 1
    WARNING = 2
    SHUTDOWN = 3
    TRIP = 4


# The named alarms this controller raises, in the order of GenComm's named-alarm list.
ALARM_NAMES: Final = (
    "emergency_stop",
    "low_oil_pressure",
    "high_coolant_temperature",
    "low_coolant_temperature",
    "under_speed",
    "over_speed",
    "generator_under_frequency",
    "generator_over_frequency",
    "generator_low_voltage",
    "generator_high_voltage",
    "battery_low_voltage",
    "battery_high_voltage",
    "charge_alternator_failure",
    "fail_to_start",
    "fail_to_stop",
    "generator_fail_to_close",
    "mains_fail_to_close",
    "oil_pressure_sender_fault",
    "loss_of_magnetic_pickup",
    "magnetic_pickup_open_circuit",
    "generator_high_current",
    "calibration_lost",
    "low_fuel_level",
    "can_ecu_warning",
)


@dataclass(kw_only=True)
class Timers:
    """Controller timers, seconds (typical DSE values). They run one after another: the set
    takes the load about 23 s after the mains fails."""

    start_delay: float = 3.0
    crank: float = 5.0
    crank_rest: float = 5.0
    crank_attempts: int = 3
    # How long a healthy engine cranks before it fires.
    fires_after: float = 2.0
    safety_on: float = 10.0
    warm_up: float = 5.0
    mains_fail_delay: float = 3.0
    return_delay: float = 300.0
    cool_down: float = 60.0
    stopping: float = 5.0
    overload_delay: float = 10.0


RUNNING_PHASES: Final = frozenset(
    {Phase.SAFETY_ON, Phase.WARMING_UP, Phase.RUNNING, Phase.COOLING_DOWN}
)


@dataclass(kw_only=True)
class Controller:
    """The controller's state; `step` advances it, `press` obeys a control key."""

    mode: Mode = Mode.AUTO
    # An automatic transfer switch: the controller closes the generator breaker itself.
    # Without one (Kall) a person moves the changeover switch.
    auto_transfer: bool = True
    timers: Timers = field(default_factory=Timers)
    phase: Phase = Phase.STOPPED
    phase_seconds: float = 0.0
    attempts: int = 0
    fail_next_start: bool = False
    breaker_closed: bool = False
    manual_run: bool = False
    remote_start: bool = False
    mains_absent_seconds: float = 0.0
    mains_stable_seconds: float = 0.0
    overload_seconds: float = 0.0
    run_seconds: float = 0.0
    starts: int = 0
    energy_kwh: float = 0.0
    alarms: dict[str, AlarmLevel] = field(default_factory=dict)
    keys_refused: int = 0

    @property
    def engine_running(self) -> bool:
        """The engine turns on its own (fired, not cranking)."""
        return self.phase in RUNNING_PHASES

    @property
    def available(self) -> bool:
        """Warmed up and able to take load."""
        return self.phase == Phase.RUNNING

    def alarm_level(self) -> AlarmLevel:
        """The worst active alarm."""
        return max(self.alarms.values(), default=AlarmLevel.INACTIVE)

    def press(self, key: int) -> bool:
        """Obey one control key; False when the key is unknown or not allowed now."""
        match key:
            case Key.STOP_MODE:
                self.mode = Mode.STOP
                self.manual_run = False
                self.remote_start = False
                # Selecting stop mode is how an operator resets latched shutdown alarms.
                self.alarms = {}
                if self.phase != Phase.STOPPED:
                    self._enter(Phase.STOPPING)
                    self.breaker_closed = False
            case Key.AUTO_MODE:
                self.mode = Mode.AUTO
                self.manual_run = False
            case Key.MANUAL_MODE:
                self.mode = Mode.MANUAL
            # "Telemetry start if in auto mode" and its cancel: in any other mode the set is
            # started and stopped at the controller's panel.
            case Key.REMOTE_START:
                if self.mode != Mode.AUTO or self.phase == Phase.FAILED:
                    self.keys_refused += 1
                    return False
                self.remote_start = True
            case Key.REMOTE_STOP:
                if self.mode != Mode.AUTO:
                    self.keys_refused += 1
                    return False
                self.remote_start = False
            case _:
                self.keys_refused += 1
                return False
        return True

    def start_at_panel(self) -> bool:
        """Someone presses Start on the controller: it starts the engine in manual mode."""
        if self.mode != Mode.MANUAL or self.phase == Phase.FAILED:
            return False
        self.manual_run = True
        return True

    def stop_at_panel(self) -> bool:
        """Someone stops a set started by hand: off load, cool-down, stop."""
        if self.mode != Mode.MANUAL:
            return False
        self.manual_run = False
        return True

    def wants_to_run(self, mains_present: bool) -> bool:
        """Whether the controller's mode and inputs call for the engine right now."""
        match self.mode:
            case Mode.STOP:
                return False
            case Mode.MANUAL:
                return self.manual_run
            case Mode.TEST:
                return True
            case _:
                mains_failed = (
                    not mains_present and self.mains_absent_seconds >= self.timers.mains_fail_delay
                )
                returning = self.breaker_closed and (
                    self.mains_stable_seconds < self.timers.return_delay
                )
                return self.remote_start or mains_failed or returning

    def step(
        self,
        seconds: float,
        *,
        mains_present: bool,
        load_percent: float,
        fuel_empty: bool,
        changeover_to_generator: bool,
    ) -> None:
        """Advance the sequence by `seconds` of simulated time."""
        if mains_present:
            self.mains_absent_seconds = 0.0
            self.mains_stable_seconds += seconds
        else:
            self.mains_absent_seconds += seconds
            self.mains_stable_seconds = 0.0
        self.phase_seconds += seconds
        if self.engine_running:
            self.run_seconds += seconds

        if fuel_empty and self.engine_running:
            self.alarms["low_fuel_level"] = AlarmLevel.SHUTDOWN
            self.breaker_closed = False
            self._enter(Phase.FAILED)

        wanted = self.wants_to_run(mains_present)
        self._sequence(wanted)
        self._breaker(mains_present, changeover_to_generator)
        self._overload(seconds, load_percent)

    def _sequence(self, wanted: bool) -> None:
        t = self.timers
        match self.phase:
            case Phase.STOPPED:
                if wanted:
                    self.attempts = 0
                    self._enter(Phase.START_DELAY)
            case Phase.START_DELAY:
                if not wanted:
                    self._enter(Phase.STOPPED)
                elif self.phase_seconds >= t.start_delay:
                    self.attempts = 1
                    self._enter(Phase.CRANKING)
            case Phase.CRANKING:
                if not self.fail_next_start and self.phase_seconds >= t.fires_after:
                    self.starts += 1
                    self._enter(Phase.SAFETY_ON)
                elif self.phase_seconds >= t.crank:
                    if self.attempts >= t.crank_attempts:
                        self.fail_next_start = False
                        self.alarms["fail_to_start"] = AlarmLevel.SHUTDOWN
                        self._enter(Phase.FAILED)
                    else:
                        self._enter(Phase.CRANK_REST)
            case Phase.CRANK_REST:
                if self.phase_seconds >= t.crank_rest:
                    self.attempts += 1
                    self._enter(Phase.CRANKING)
            case Phase.SAFETY_ON:
                if not wanted:
                    self._enter(Phase.STOPPING)
                elif self.phase_seconds >= t.safety_on:
                    self._enter(Phase.WARMING_UP)
            case Phase.WARMING_UP:
                if not wanted:
                    self._enter(Phase.COOLING_DOWN)
                elif self.phase_seconds >= t.warm_up:
                    self._enter(Phase.RUNNING)
            case Phase.RUNNING:
                if not wanted:
                    self.breaker_closed = False
                    self._enter(Phase.COOLING_DOWN)
            case Phase.COOLING_DOWN:
                if wanted:
                    self._enter(Phase.RUNNING)
                elif self.phase_seconds >= t.cool_down:
                    self._enter(Phase.STOPPING)
            case Phase.STOPPING:
                if self.phase_seconds >= t.stopping:
                    self._enter(Phase.STOPPED)
            case Phase.FAILED:
                pass

    def _breaker(self, mains_present: bool, changeover_to_generator: bool) -> None:
        if not self.available:
            self.breaker_closed = False
            return
        if not self.auto_transfer:
            self.breaker_closed = changeover_to_generator
        elif self.mode == Mode.TEST or not mains_present:
            self.breaker_closed = True
        elif self.breaker_closed and self.mains_stable_seconds >= self.timers.return_delay:
            self.breaker_closed = False

    def _overload(self, seconds: float, load_percent: float) -> None:
        if self.breaker_closed and load_percent > 100.0:
            self.overload_seconds += seconds
        else:
            self.overload_seconds = 0.0
        if self.overload_seconds >= self.timers.overload_delay:
            self.alarms["generator_high_current"] = AlarmLevel.WARNING
        elif self.alarms.get("generator_high_current") == AlarmLevel.WARNING and (
            load_percent <= 100.0
        ):
            del self.alarms["generator_high_current"]

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self.phase_seconds = 0.0
