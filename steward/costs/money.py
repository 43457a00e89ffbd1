"""Money for the ledger: integer minor units plus an ISO-4217 code, one organisation currency.

An amount entered in another currency is refused with a clear error unless STEWARD_FX_RATES names a
conversion rate for it; then it is converted once, when booked, and the rate used is stored on the row
(a later change of the setting never rewrites a booked amount).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from steward.core.errors import DomainError

# ISO-4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"], 0),
    **dict.fromkeys(["VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
_CODE = re.compile(r"^[A-Z]{3}$")
# Upper bound of an amount typed by a person, in minor units: refuses a mistyped figure, not a real one.
MAX_AMOUNT_MINOR = 10**12


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def org_currency() -> str:
    code = str(getattr(settings, "STEWARD_CURRENCY", "EUR") or "EUR").strip().upper()
    if not _CODE.match(code):
        raise ImproperlyConfigured(f"STEWARD_CURRENCY must be a 3-letter ISO-4217 code, got {code!r}")
    return code


def fx_rates() -> dict[str, Decimal]:
    """STEWARD_FX_RATES parsed strictly: "USD:0.92,THB:0.026" (organisation currency per unit)."""
    raw = str(getattr(settings, "STEWARD_FX_RATES", "") or "")
    rates: dict[str, Decimal] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        code, sep, value = item.partition(":")
        code = code.strip().upper()
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            rate = Decimal(0)
        if not sep or not _CODE.match(code) or not rate.is_finite() or rate <= 0:
            raise ImproperlyConfigured(
                f"STEWARD_FX_RATES must look like 'USD:0.92,THB:0.026' (positive rates), got {item!r}"
            )
        rates[code] = rate
    return rates


@dataclass(frozen=True)
class Booked:
    """An amount as booked (organisation currency) and as entered."""

    amount_minor: int
    currency: str
    original_amount_minor: int
    original_currency: str
    fx_rate: Decimal | None


def book(amount_minor: int, currency: str, *, field: str = "amount") -> Booked:
    """Convert an entered amount to the organisation currency, or refuse it with a clear error."""
    currency = (currency or "").strip().upper()
    if not _CODE.match(currency):
        raise DomainError(_("Give the currency as a three-letter code, such as EUR."), field="currency")
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise DomainError(_("The amount must be greater than zero."), field=field)
    if amount_minor > MAX_AMOUNT_MINOR:
        raise DomainError(_("The amount is too large."), field=field)
    org = org_currency()
    if currency == org:
        return Booked(amount_minor, org, amount_minor, currency, None)
    rate = fx_rates().get(currency)
    if rate is None:
        raise DomainError(
            _(
                "Amounts are booked in %(org)s. No conversion rate from %(currency)s is configured "
                "(STEWARD_FX_RATES), so enter the amount in %(org)s."
            )
            % {"org": org, "currency": currency},
            field="currency",
            code="currency",
        )
    scale = Decimal(10) ** (exponent(org) - exponent(currency))
    converted = int((Decimal(amount_minor) * rate * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if converted <= 0:
        raise DomainError(_("The amount is too small to book after conversion."), field=field)
    return Booked(converted, org, amount_minor, currency, rate)


def parse_major(text: str | Decimal, currency: str, *, field: str = "amount") -> int:
    """A typed amount in major units ("12.50") as minor units (1250), refusing extra decimals."""
    try:
        value = Decimal(str(text).strip().replace(" ", ""))
    except InvalidOperation:
        raise DomainError(_("Enter an amount such as 12.50."), field=field) from None
    if not value.is_finite():
        raise DomainError(_("Enter an amount such as 12.50."), field=field)
    exp = exponent(currency)
    minor = value * (Decimal(10) ** exp)
    if minor != minor.to_integral_value():
        raise DomainError(
            _("%(currency)s has %(n)d decimal places.") % {"currency": currency.upper(), "n": exp},
            field=field,
        )
    return int(minor)


def format_minor(amount_minor: int | None, currency: str) -> str:
    """Minor units shown in major units with the code (localised separators); a dash for None."""
    if amount_minor is None:
        return "–"
    exp = exponent(currency)
    value = Decimal(amount_minor) / (Decimal(10) ** exp)
    return f"{number_format(value, decimal_pos=exp, use_l10n=True, force_grouping=True)} {currency}"
