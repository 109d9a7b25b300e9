"""Fuel for sale: the station's products, the litres each can sell, and what was sold.

A product (`station/<id>`: diesel, petrol 95, HVO, AdBlue ...) is the station's own storage
tank with its dispenser, separate from the generator's day tank (`tank`, in `fuel`). What can
be sold is the stock above the product's reserve: the litres the station keeps back (for the
rescue services, or what the pump cannot draw), its meta's `reserve`, else a tenth of the
tank. What was sold during the present outage is the drop in stock since the grid went, with
deliveries (a rise in stock) added back, also one pumped in slowly, a little at each reading,
on a gauge that wobbles by more than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .components import Component, optional_time
from .vocabulary import Kind

if TYPE_CHECKING:
    from .model import Site

# The reserve when a product's meta names none: this share of its tank.
DEFAULT_RESERVE_SHARE: Final = 0.10
# A rise in stock beyond this (L) is a delivery; smaller rises are the gauge's wobble (a tank
# warming in the sun reads a few litres more) and are not counted as stock that came in.
DELIVERY_LITRES: Final = 50.0
# ... or one that came at least this fast (L/s: 5 L a minute; a hand pump gives 20-40), read
# a little at a time: a tank warming in the sun rises well under 1 L a minute, if by more than
# 50 L over a day.
DELIVERY_RATE: Final = 5.0 / 60
# A station gauge's wobble (L, from its lowest reading to its highest: ±5 L is a few mm of a
# tank's height, stirred by a delivery): a rise goes on while the stock stays within this of
# its highest reading plus what DELIVERY_RATE would have added since. A fall beyond that, or a
# rise slower than a delivery, ends it.
WOBBLE_LITRES: Final = 10.0


@dataclass(slots=True)
class Sales:
    """One product's stock through the present outage."""

    # The start of the outage this record is for.
    outage: datetime
    # The stock when the outage began, plus the deliveries since.
    baseline: float
    # The last stock seen, and when it was measured (POSIX s).
    last: float
    last_time: float | None = None
    # The present rise: the stock and time it began at, and its highest reading and when it
    # was read; and whether it is a delivery (each reading of a delivery pumped in slowly rises
    # less than DELIVERY_LITRES, and the gauge's wobble may fall between them).
    rise: tuple[float, float, float, float] | None = None
    delivering: bool = False

    def follow(self, stock: float, time: float) -> None:
        """A new stock reading: a fall or a stall ends a rise; a rise that is a delivery is
        added back, each litre once, from where it began to its highest reading."""
        rise = self.rise
        if rise is not None:
            _, _, peak, peaked = rise
            if stock < peak - WOBBLE_LITRES + DELIVERY_RATE * (time - peaked):
                rise, self.delivering = None, False
        if rise is None and stock > self.last:
            began = time if self.last_time is None else self.last_time
            rise = (self.last, began, self.last, began)
        if rise is not None:
            start, since, peak, peaked = rise
            if stock > peak:
                if self.delivering:
                    self.baseline += stock - peak
                peak, peaked = stock, time
            risen = stock - start
            if (
                not self.delivering
                and risen > DELIVERY_LITRES
                and (stock - self.last > DELIVERY_LITRES or risen >= DELIVERY_RATE * (time - since))
            ):
                self.baseline += peak - start
                self.delivering = True
            rise = (start, since, peak, peaked)
        self.rise = rise
        self.last, self.last_time = stock, time

    @property
    def sold(self) -> float:
        """Litres sold so far (never below zero: a gauge reading high is not a sale undone)."""
        return max(0.0, self.baseline - self.last)


class Station:
    """The station's products: stock, reserve, litres for sale, litres sold this outage."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s `station` components."""
        self.site = site
        self.sales: dict[str, Sales] = {}
        # Litres each product sold in the last outage that ended.
        self.last_sold: dict[str, float] = {}

    def products(self) -> tuple[Component, ...]:
        """The products, by id."""
        return tuple(self.site.of_kind(Kind.STATION))

    def capacity(self, product: Component, now: datetime) -> float | None:
        """The tank's size, L: its meta, else stock plus ullage as the gauge reports them."""
        if "capacity" in product.settings:
            return product.settings["capacity"]
        volume = self.site.number(product, "volume", now)
        ullage = self.site.number(product, "ullage", now)
        return None if volume is None or ullage is None else volume + ullage

    def volume(self, product: Component, now: datetime) -> float | None:
        """The stock, L: the gauge's volume, else its level of the tank's capacity."""
        volume = self.site.number(product, "volume", now)
        if volume is not None:
            return volume
        level = self.site.number(product, "level", now)
        capacity = product.settings.get("capacity")
        return None if level is None or capacity is None else level / 100.0 * capacity

    def reserve(self, product: Component, now: datetime) -> float | None:
        """Litres kept back from sale: the meta's, else a tenth of the tank, else none.

        Unknown (None) while the tank is known only from its gauge's ullage and that is silent:
        a reserve of none would put the reserve on sale.
        """
        if "reserve" in product.settings:
            return product.settings["reserve"]
        capacity = self.capacity(product, now)
        if capacity is not None:
            return DEFAULT_RESERVE_SHARE * capacity
        return None if "ullage" in product.reported else 0.0

    def for_sale(self, product: Component, now: datetime) -> float | None:
        """Litres that can be sold: the stock above the reserve (None while either is unknown)."""
        volume = self.volume(product, now)
        reserve = self.reserve(product, now)
        return None if volume is None or reserve is None else max(0.0, volume - reserve)

    def measures_stock(self, product: Component) -> bool:
        """Whether the product has a gauge at all (a station may report only its pumps)."""
        return bool(product.reported & {"volume", "level"})

    def sold(self, product: Component) -> float | None:
        """Litres sold during the present outage; 0 without one, None while the stock is unknown."""
        outage = self.site.outages.current
        if outage is None:
            return 0.0
        sales = self.sales.get(product.id)
        return None if sales is None or sales.outage != outage.start else sales.sold

    def evaluate(self, now: datetime) -> None:
        """Follow each product's stock through the present outage."""
        outage = self.site.outages.current
        if outage is None:
            if self.sales:
                self.last_sold = {pid: round(s.sold, 1) for pid, s in self.sales.items()}
                self.sales = {}
                self.site.revision += 1
            return
        for product in self.products():
            volume = self.volume(product, now)
            if volume is None:
                continue
            time = _measured(product, now)
            sales = self.sales.get(product.id)
            if sales is None or sales.outage != outage.start:
                # The stock when the grid went (or when it is first known in this outage).
                self.sales[product.id] = Sales(outage.start, volume, volume, time)
                self.site.revision += 1
                continue
            if volume == sales.last:
                continue
            sales.follow(volume, time)
            self.site.revision += 1

    def forget(self, product_id: str) -> None:
        """A product that is gone for good."""
        self.sales.pop(product_id, None)
        self.last_sold.pop(product_id, None)

    # -- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "sales": {
                pid: [
                    s.outage.isoformat(),
                    s.baseline,
                    s.last,
                    s.last_time,
                    None if s.rise is None else list(s.rise),
                    s.delivering,
                ]
                for pid, s in self.sales.items()
            },
            "last_sold": dict(self.last_sold),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Read the storage form back (an older snapshot has none: nothing was tracked)."""
        sales: dict[str, Sales] = {}
        for pid, (outage, baseline, last, *rise) in dict(data.get("sales") or {}).items():
            start = optional_time(outage)
            if start is None:
                raise ValueError(f"station sales of {pid} have no outage")
            # Saved before rises were followed: the last stock alone.
            last_time, began, delivering = (*rise, None, None, False)[:3]
            sales[str(pid)] = Sales(
                start,
                float(baseline),
                float(last),
                None if last_time is None else float(last_time),
                None if began is None else _rise([float(x) for x in began], last, last_time),
                bool(delivering),
            )
        self.sales = sales
        self.last_sold = {str(k): float(v) for k, v in dict(data.get("last_sold") or {}).items()}


def _rise(values: list[float], last: Any, last_time: Any) -> tuple[float, float, float, float]:
    """A saved rise: saved before its highest reading was kept, the stock had not fallen
    since it began, so the last reading was its highest (and, a delivery, added back)."""
    if len(values) == 2:
        peaked = values[1] if last_time is None else float(last_time)
        return (values[0], values[1], max(values[0], float(last)), peaked)
    if len(values) != 4:
        raise ValueError("a station's rise in stock is damaged")
    return (values[0], values[1], values[2], values[3])


def _measured(product: Component, now: datetime) -> float:
    """When the product's stock was last measured (POSIX s): a bridge's queued readings
    count at their own times, so a delivery replayed in a burst is as fast as it was."""
    times = [s.time for name, s in product.values.items() if name in ("volume", "level")]
    return max(times, default=now).timestamp()
