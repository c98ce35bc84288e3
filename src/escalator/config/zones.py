"""Time zones: IANA names only; a common abbreviation gets the zone it usually means.

``BST`` is not a zone (difflib would suggest ``MST``, Mountain time); ``EST``, ``MST`` and
``HST`` are IANA names, but fixed offsets that never change for daylight saving.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

# abbreviation -> the IANA zone(s) people usually mean by it
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "BST": ("Europe/London",),
    "GMT": ("Europe/London",),
    "IST": ("Europe/Dublin", "Asia/Kolkata"),
    "WET": ("Europe/Lisbon",),
    "WEST": ("Europe/Lisbon",),
    "CET": ("Europe/Paris", "Europe/Berlin"),
    "CEST": ("Europe/Paris", "Europe/Berlin"),
    "EET": ("Europe/Athens", "Europe/Helsinki"),
    "EEST": ("Europe/Athens", "Europe/Helsinki"),
    "MSK": ("Europe/Moscow",),
    "EST": ("America/New_York",),
    "EDT": ("America/New_York",),
    "CST": ("America/Chicago",),
    "CDT": ("America/Chicago",),
    "MST": ("America/Denver", "America/Phoenix"),
    "MDT": ("America/Denver",),
    "PST": ("America/Los_Angeles",),
    "PDT": ("America/Los_Angeles",),
    "AKST": ("America/Anchorage",),
    "HST": ("Pacific/Honolulu",),
    "BRT": ("America/Sao_Paulo",),
    "ART": ("America/Argentina/Buenos_Aires",),
    "SAST": ("Africa/Johannesburg",),
    "WAT": ("Africa/Lagos",),
    "EAT": ("Africa/Nairobi",),
    "PKT": ("Asia/Karachi",),
    "ICT": ("Asia/Bangkok",),
    "WIB": ("Asia/Jakarta",),
    "SGT": ("Asia/Singapore",),
    "HKT": ("Asia/Hong_Kong",),
    "PHT": ("Asia/Manila",),
    "JST": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",),
    "AWST": ("Australia/Perth",),
    "ACST": ("Australia/Adelaide",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
}
FIXED_OFFSET_NAMES = frozenset({"EST", "MST", "HST", "GMT"})


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _meant(name: str) -> str:
    return " or ".join(repr(z) for z in ABBREVIATIONS[name.upper()])


def zone_error(name: str) -> str | None:
    """Why ``name`` is not a usable zone, with the zone meant when it can be told."""
    if name in known_zones():
        return None
    if name.upper() in ABBREVIATIONS:
        return (
            f"unknown time zone {name!r}: an abbreviation, not a zone "
            f"(did you mean {_meant(name)}?)"
        )
    lower = {z.lower(): z for z in known_zones()}
    if name.lower() in lower:
        return f"unknown time zone {name!r} (did you mean {lower[name.lower()]!r}?)"
    from escalator.config.errors import did_you_mean

    return f"unknown time zone {name!r}{did_you_mean(name, known_zones())}"


def zone_warning(name: str) -> str | None:
    """A zone that exists but is probably not what was meant."""
    if name in FIXED_OFFSET_NAMES:
        return (
            f"{name!r} is a fixed UTC offset that never changes for daylight saving "
            f"(did you mean {_meant(name)}?)"
        )
    return None
