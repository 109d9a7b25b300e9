"""The sites the demo plays: Kall with its full hardware, Valsjöbyn and Hallen over MQTT only."""

from __future__ import annotations

from typing import Final

from .controller import Mode
from .physics import TAU_EMPTY_H, TAU_FULL_H, TAU_HALF_H
from .site import FreezerSpec, LoadSpec, ProductSpec, SiteSpec, WarmRoomSpec

# Kall (Åre): a 70 kVA set (≈ 56 kW at power factor 0.8), a 50 kW hot-air heater for the school's
# warm room, and a manual changeover: the volunteer starts the set and moves the switch.
KALL: Final = SiteSpec(
    id="kall",
    name="Kall",
    generator_rating_kw=56.0,
    tank_capacity_l=600.0,
    tank_reserve_pct=10.0,
    tank_start_pct=33.0,
    freezers=(
        FreezerSpec(id="f1", tau_h=TAU_FULL_H, start_c=-19.6),
        FreezerSpec(id="f2", tau_h=TAU_HALF_H, start_c=-19.2),
    ),
    loads=(
        LoadSpec(id="store", power_kw=3.5, priority=1, provides=("food", "cash")),
        LoadSpec(id="pumps", power_kw=1.5, priority=1, provides=("fuel",)),
        LoadSpec(id="freezers", power_kw=1.4, priority=2, freezers=("f1", "f2")),
        LoadSpec(id="coolers", power_kw=3.0, priority=2, provides=("food",)),
        LoadSpec(
            id="heater", power_kw=50.0, priority=3, initially_on=False, provides=("warm_room",)
        ),
    ),
    # A small station: diesel for the road crews' machines, petrol for everyone.
    products=(
        ProductSpec(id="diesel", capacity_l=10000, start_l=6200, reserve_l=2000, sales_l_per_h=140),
        ProductSpec(id="petrol95", capacity_l=6000, start_l=2400, reserve_l=600, sales_l_per_h=90),
    ),
    warm_room=WarmRoomSpec(),
    network=True,
    auto_transfer=False,
    generator_mode=Mode.MANUAL,
    modbus=True,
    generator_over_mqtt=False,
    grid_over_mqtt=False,
)

# Valsjöbyn (Krokom): where SOT points began (storm Hilde, 2013); an automatic transfer switch.
VALSJOBYN: Final = SiteSpec(
    id="valsjobyn",
    name="Valsjöbyn",
    generator_rating_kw=40.0,
    tank_capacity_l=800.0,
    tank_reserve_pct=10.0,
    tank_start_pct=70.0,
    freezers=(
        FreezerSpec(id="f1", tau_h=TAU_FULL_H, start_c=-19.8),
        FreezerSpec(id="f2", tau_h=TAU_HALF_H, start_c=-19.0),
        FreezerSpec(id="f3", tau_h=TAU_EMPTY_H, start_c=-20.4, compressor_kw=0.3),
    ),
    loads=(
        LoadSpec(id="store", power_kw=5.0, priority=1, provides=("food", "cash")),
        LoadSpec(id="pumps", power_kw=2.0, priority=1, provides=("fuel",)),
        LoadSpec(id="freezers", power_kw=1.7, priority=2, freezers=("f1", "f2", "f3")),
        LoadSpec(id="coolers", power_kw=3.0, priority=2, provides=("food",)),
        # Tier 4: what a load-shedding automation switches off the moment the grid goes.
        LoadSpec(id="carwash", power_kw=7.5, priority=4),
    ),
    # Storm Hilde's lesson: diesel and petrol for the neighbours across the border.
    products=(
        ProductSpec(id="diesel", capacity_l=15000, start_l=9800, reserve_l=2000, sales_l_per_h=120),
        ProductSpec(
            id="petrol95", capacity_l=10000, start_l=5200, reserve_l=1000, sales_l_per_h=100
        ),
    ),
)

# Hallen (Åre): a small set on an automatic transfer switch, the grid holds in this storm.
HALLEN: Final = SiteSpec(
    id="hallen",
    name="Hallen",
    generator_rating_kw=20.0,
    tank_capacity_l=400.0,
    tank_reserve_pct=10.0,
    tank_start_pct=85.0,
    freezers=(FreezerSpec(id="f1", tau_h=TAU_FULL_H, start_c=-19.4, compressor_kw=0.5),),
    loads=(
        LoadSpec(id="store", power_kw=4.0, priority=1, provides=("food", "cash")),
        LoadSpec(id="pumps", power_kw=1.5, priority=1, provides=("fuel",)),
        LoadSpec(id="freezers", power_kw=0.5, priority=2, freezers=("f1",)),
    ),
    products=(
        ProductSpec(id="diesel", capacity_l=8000, start_l=5100, reserve_l=1000, sales_l_per_h=60),
    ),
)

SITES: Final = {spec.id: spec for spec in (KALL, VALSJOBYN, HALLEN)}
