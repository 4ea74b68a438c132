"""GB/T 2260 administrative division codes (行政区划代码): names, provinces and prefectures
of the regions applicants, credit codes and regional bases refer to.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "Region",
    "region_name",
    "region",
    "is_known_region",
    "is_well_formed_region",
    "province_of",
    "prefecture_of",
    "enclosing_region",
    "contains",
    "provinces",
    "regions_in",
]

DATA = Path(__file__).with_name("data") / "regions.tsv"
WELL_FORMED = re.compile(r"^[0-9]{6}$")  # `str.isdigit` would let full-width and other Unicode digits in


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str  # "province", "prefecture" or "county" (a county-level unit directly under a province)


@lru_cache(maxsize=1)
def _table() -> dict[str, Region]:
    # Loaded on first use, not at import, so importing intake stays cheap for the CLI and tests.
    table: dict[str, Region] = {}
    with DATA.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("code\t"):
                continue
            code, name, level = line.split("\t")
            table[code] = Region(code, name, level)
    return table


def is_well_formed_region(code: str) -> bool:
    """Six ASCII digits; says nothing about whether the code exists."""
    return isinstance(code, str) and bool(WELL_FORMED.match(code))


def region(code: str) -> Region | None:
    return _table().get(code) if is_well_formed_region(code) else None


def region_name(code: str) -> str | None:
    found = region(code)
    return found.name if found else None


def is_known_region(code: str) -> bool:
    """Listed in the table: a province, a prefecture, or a county directly under a province."""
    return region(code) is not None


def province_of(code: str) -> str:
    """The province-level code that contains `code` (first two digits + "0000")."""
    if not is_well_formed_region(code):
        raise ValueError(f"an administrative division code is 6 digits, got {code!r}")
    return code[:2] + "0000"


def prefecture_of(code: str) -> str:
    """The prefecture-level code that would contain `code` (first four digits + "00").

    For municipalities and province-administered counties no such prefecture exists;
    use `enclosing_region` to get the nearest one that does.
    """
    if not is_well_formed_region(code):
        raise ValueError(f"an administrative division code is 6 digits, got {code!r}")
    return code[:4] + "00"


def enclosing_region(code: str) -> Region | None:
    """The most specific listed region containing `code`: itself, its prefecture, or its province.

    Credit codes mostly carry a district or county code (e.g. 110108 海淀区), which the
    table does not list; this finds the unit above it that it does.
    """
    if not is_well_formed_region(code):
        return None
    for candidate in (code, prefecture_of(code), province_of(code)):
        found = _table().get(candidate)
        if found:
            return found
    return None


def contains(outer: str, inner: str) -> bool:
    """Whether the area of `outer` includes `inner`: a province its prefectures and
    districts, a prefecture its districts, any code itself."""
    if not (is_well_formed_region(outer) and is_well_formed_region(inner)):
        return False
    if outer.endswith("0000"):
        return inner[:2] == outer[:2]
    if outer.endswith("00"):
        return inner[:4] == outer[:4]
    return inner == outer


def provinces() -> list[Region]:
    return [r for r in _table().values() if r.level == "province"]


def regions_in(province_code: str) -> list[Region]:
    """The prefectures and province-administered counties of one province, in code order."""
    prefix = province_of(province_code)[:2]
    return sorted(
        (r for r in _table().values() if r.level != "province" and r.code.startswith(prefix)),
        key=lambda r: r.code,
    )
