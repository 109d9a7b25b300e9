"""The site's public summary: what residents, road crews and the county may read.

Open or closed, on which power, which services, fuel per product, and the latest message the
operator typed; published retained on `sot/<site>/public` and shown on the information display.
Nothing in it helps a thief: no litres while the site is closed (or cannot be told), none for a
product that is not on sale, litres rounded down to the hundred, and nothing of the generator
or its day tank. Pure: no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .components import parse_time
from .service_texts import LANGUAGES, product_name, summary
from .services import Status, evaluate

if TYPE_CHECKING:
    from .model import Site

# The longest message an operator may put up: two lines on a shop-window screen.
MESSAGE_MAX: Final = 200
# Litres for sale are given to this step, rounded down.
LITRES_STEP: Final = 100
# The products' names on the display when their meta names none: Swedish, as the display.
DISPLAY_LANGUAGE: Final = "sv"


@dataclass(frozen=True, slots=True)
class Notice:
    """The operator's message to the public, and when it was put up."""

    text: str
    time: datetime

    def as_dict(self) -> dict[str, str]:
        """Storage form."""
        return {"text": self.text, "time": self.time.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notice:
        """Read the storage form back."""
        return cls(str(data["text"])[:MESSAGE_MAX], parse_time(data["time"]))


def notice(text: str, now: datetime) -> Notice | None:
    """A new message (None clears it): spaces around it dropped, at most MESSAGE_MAX long."""
    text = " ".join(text.split())[:MESSAGE_MAX]
    return Notice(text, now) if text else None


def public_summary(site: Site, now: datetime, site_id: str, name: str) -> dict[str, Any]:
    """The summary as published: plain JSON values, the same for the same situation."""
    offer = evaluate(site, now)
    # Stock is told only while the site is open to sell it.
    telling = offer.status in (Status.OPEN, Status.LIMITED)
    fuel = offer.services.get("fuel")
    products: list[dict[str, Any]] = []
    for item in fuel.products if fuel is not None else ():
        entry: dict[str, Any] = {
            "product": item.id,
            "name": product_name(item, DISPLAY_LANGUAGE),
            "status": None if item.status is None else item.status.value,
        }
        on_sale = item.status in (Status.OPEN, Status.LIMITED)
        if telling and on_sale and item.for_sale is not None:
            # From the whole litres the sensor and the display show: a gauge's 57 % of
            # 10 000 L less its reserve is 4699.999... L in floating point, not 4600 L.
            entry["litres"] = round(item.for_sale) // LITRES_STEP * LITRES_STEP
        products.append(entry)
    message = site.notice
    return {
        "site": site_id,
        "name": name,
        "status": None if offer.status is None else offer.status.value,
        "power": None if offer.power is None else offer.power.value,
        "text": {language: summary(offer, language) for language in LANGUAGES},
        "services": {
            service.name: {
                "status": None if service.status is None else service.status.value,
                "reasons": sorted({reason.code.value for reason in service.reasons}),
            }
            for service in offer.services.values()
        },
        "fuel": products,
        "message": None if message is None else message.text,
        "message_time": None if message is None else message.time.isoformat(),
    }
