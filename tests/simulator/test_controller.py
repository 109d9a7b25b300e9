"""The DSE-style controller: start sequence, fail to start, transfer, return, keys."""

from __future__ import annotations

from simulator.controller import AlarmLevel, Controller, Key, Mode, Phase


def run(
    controller: Controller,
    seconds: float,
    *,
    mains: bool,
    load: float = 20.0,
    changeover: bool = False,
) -> None:
    for _ in range(int(seconds)):
        controller.step(
            1.0,
            mains_present=mains,
            load_percent=load,
            fuel_empty=False,
            changeover_to_generator=changeover,
        )


def test_auto_mode_starts_on_mains_failure_and_takes_load() -> None:
    """Mains lost: ride-through, start delay, crank, safety, warm-up, on load in ~25 s."""
    gen = Controller(mode=Mode.AUTO)
    run(gen, 2, mains=False)
    assert gen.phase == Phase.STOPPED  # still riding through
    run(gen, 3, mains=False)
    assert gen.phase == Phase.START_DELAY
    run(gen, 2, mains=False)
    assert gen.phase == Phase.CRANKING
    run(gen, 2, mains=False)
    assert gen.phase == Phase.SAFETY_ON
    run(gen, 20, mains=False)
    assert gen.phase == Phase.RUNNING
    assert gen.breaker_closed
    assert gen.starts == 1


def test_auto_mode_returns_to_mains_after_the_return_delay_and_cools_down() -> None:
    """Mains back: stay on load 5 min, then cool down 1 min, then stop."""
    gen = Controller(mode=Mode.AUTO)
    run(gen, 60, mains=False)
    run(gen, 299, mains=True)
    assert gen.breaker_closed
    run(gen, 2, mains=True)
    assert not gen.breaker_closed
    assert gen.phase == Phase.COOLING_DOWN
    run(gen, 61, mains=True)
    assert gen.phase == Phase.STOPPING
    run(gen, 6, mains=True)
    assert gen.phase == Phase.STOPPED


def test_a_short_flicker_does_not_start_the_set() -> None:
    """Ride-through: 2 s without mains is not a failure."""
    gen = Controller(mode=Mode.AUTO)
    run(gen, 2, mains=False)
    run(gen, 30, mains=True)
    assert gen.phase == Phase.STOPPED


def test_fail_to_start_after_three_attempts_latches_a_shutdown() -> None:
    """Crank, rest, crank, rest, crank: then fail to start, until stop mode resets it."""
    gen = Controller(mode=Mode.AUTO, fail_next_start=True)
    assert gen.press(Key.REMOTE_START)
    run(gen, 3 + 5 * 3 + 5 * 2 + 2, mains=True)
    assert gen.phase == Phase.FAILED
    assert gen.alarms == {"fail_to_start": AlarmLevel.SHUTDOWN}
    assert gen.alarm_level() == AlarmLevel.SHUTDOWN
    assert gen.starts == 0
    assert not gen.press(Key.REMOTE_START)  # refused while failed
    assert gen.press(Key.STOP_MODE)
    run(gen, 10, mains=True)
    assert gen.phase == Phase.STOPPED
    assert gen.alarm_level() == AlarmLevel.INACTIVE
    gen.press(Key.AUTO_MODE)
    gen.press(Key.REMOTE_START)
    run(gen, 30, mains=True)
    assert gen.phase == Phase.RUNNING
    assert not gen.breaker_closed  # remote start in auto runs off load while mains is healthy


def test_manual_changeover_site_loads_only_when_the_switch_is_moved() -> None:
    """Kall: started by hand, 'running, not on load' until the volunteer moves the switch."""
    gen = Controller(mode=Mode.MANUAL, auto_transfer=False)
    run(gen, 60, mains=False)
    assert gen.phase == Phase.STOPPED  # no automatic start in manual mode
    gen.start_at_panel()
    run(gen, 30, mains=False)
    assert gen.phase == Phase.RUNNING
    assert not gen.breaker_closed
    run(gen, 5, mains=False, changeover=True)
    assert gen.breaker_closed
    run(gen, 600, mains=True, changeover=True)
    assert gen.breaker_closed  # grid back, still on generator
    gen.stop_at_panel()
    run(gen, 1, mains=True, changeover=True)
    assert gen.phase == Phase.COOLING_DOWN
    assert not gen.breaker_closed


def test_remote_start_and_stop_keys_act_in_auto_mode_only() -> None:
    """GenComm's 35732/35733 are "telemetry start if in auto mode" and its cancel: a DSE in
    manual mode does not start on them (nor stop a set started at its panel). The simulator
    started a manual-mode set on 35732, so Home Assistant's Start button seemed to work where
    a real controller would not move."""
    gen = Controller(mode=Mode.MANUAL, auto_transfer=False)
    assert not gen.press(Key.REMOTE_START)
    run(gen, 60, mains=False)
    assert gen.phase == Phase.STOPPED
    gen.start_at_panel()
    run(gen, 30, mains=False)
    assert not gen.press(Key.REMOTE_STOP)
    run(gen, 5, mains=False)
    assert gen.phase == Phase.RUNNING
    assert gen.keys_refused == 2
    gen.press(Key.AUTO_MODE)
    assert gen.press(Key.REMOTE_START)
    assert gen.press(Key.REMOTE_STOP)


def test_stop_mode_key_stops_a_running_engine() -> None:
    """Stop mode is immediate: no cool-down."""
    gen = Controller(mode=Mode.AUTO)
    run(gen, 60, mains=False)
    gen.press(Key.STOP_MODE)
    assert gen.mode == Mode.STOP
    assert gen.phase == Phase.STOPPING
    run(gen, 6, mains=False)
    assert gen.phase == Phase.STOPPED
    assert not gen.press(Key.REMOTE_START)


def test_overload_raises_a_warning_after_its_delay_and_clears() -> None:
    """Over 100 % for 10 s: high-current warning; back under: cleared."""
    gen = Controller(mode=Mode.AUTO)
    run(gen, 60, mains=False)
    run(gen, 9, mains=False, load=108)
    assert gen.alarm_level() == AlarmLevel.INACTIVE
    run(gen, 2, mains=False, load=108)
    assert gen.alarms["generator_high_current"] == AlarmLevel.WARNING
    run(gen, 1, mains=False, load=95)
    assert gen.alarm_level() == AlarmLevel.INACTIVE


def test_unknown_key_is_refused() -> None:
    """A key the controller does not know changes nothing."""
    gen = Controller(mode=Mode.AUTO)
    assert not gen.press(12345)
    assert gen.keys_refused == 1
    assert gen.mode == Mode.AUTO
