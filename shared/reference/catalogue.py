"""The two-level catalogue of standardization domains (领域) a domain-type innovation base
belongs to, and the "same or similar domain" test the guide's quota rules rely on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

__all__ = [
    "Domain",
    "CatalogueError",
    "domain",
    "all_domains",
    "top_level_domains",
    "is_known_domain",
    "are_similar",
    "first_level_of",
    "load_catalogue",
]

DATA = Path(__file__).with_name("data") / "domains.yaml"
FIRST_LEVEL = re.compile(r"^[A-Z]{2}$")
SECOND_LEVEL = re.compile(r"^([A-Z]{2})\.[0-9]{2}$")
MIN_CHILDREN, MAX_CHILDREN = 3, 8


class CatalogueError(Exception):
    """The catalogue file is malformed; raised on first use, never half-loaded."""


@dataclass(frozen=True)
class Domain:
    code: str
    name: str
    parent: str | None = None  # None for a first-level domain
    children: tuple[str, ...] = ()  # child codes, first level only

    @property
    def level(self) -> int:
        return 1 if self.parent is None else 2

    @property
    def first_level(self) -> str:
        return self.parent or self.code


@dataclass(frozen=True)
class _Catalogue:
    by_code: dict[str, Domain]
    ordered: tuple[Domain, ...]


def load_catalogue(path: Path = DATA) -> _Catalogue:
    """Read and check a catalogue file; the module itself reads DATA once, lazily."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = (raw or {}).get("domains")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: expected a non-empty 'domains' list")

    by_code: dict[str, Domain] = {}
    ordered: list[Domain] = []

    def add(d: Domain) -> None:
        # Codes end up in stored events, so a duplicate would silently merge two domains.
        if d.code in by_code:
            raise CatalogueError(f"{path}: duplicate domain code {d.code}")
        if not str(d.name).strip():
            raise CatalogueError(f"{path}: domain {d.code} has no name")
        by_code[d.code] = d
        ordered.append(d)

    for entry in entries:
        code, name = str(entry.get("code", "")), entry.get("name", "")
        if not FIRST_LEVEL.match(code):
            raise CatalogueError(f"{path}: first-level code {code!r} is not two capital letters")
        children = entry.get("children") or []
        if not MIN_CHILDREN <= len(children) <= MAX_CHILDREN:
            raise CatalogueError(
                f"{path}: {code} has {len(children)} second-level entries, "
                f"expected {MIN_CHILDREN}-{MAX_CHILDREN}"
            )
        child_codes = tuple(str(c.get("code", "")) for c in children)
        add(Domain(code, name, None, child_codes))
        for child_code, child in zip(child_codes, children):
            match = SECOND_LEVEL.match(child_code)
            if not match or match.group(1) != code:
                raise CatalogueError(f"{path}: second-level code {child_code!r} does not read {code}.NN")
            add(Domain(child_code, child.get("name", ""), code))
    return _Catalogue(by_code, tuple(ordered))


@lru_cache(maxsize=1)
def _catalogue() -> _Catalogue:
    return load_catalogue()


def domain(code: str) -> Domain | None:
    return _catalogue().by_code.get(code) if isinstance(code, str) else None


def is_known_domain(code: str) -> bool:
    return domain(code) is not None


def all_domains() -> list[Domain]:
    """Every domain, both levels, in catalogue order: each first level followed by its children."""
    return list(_catalogue().ordered)


def top_level_domains() -> list[Domain]:
    return [d for d in _catalogue().ordered if d.level == 1]


def first_level_of(code: str) -> str | None:
    found = domain(code)
    return found.first_level if found else None


def are_similar(code_a: str, code_b: str) -> bool:
    """Same or similar domain (相同或相近领域): both known and under the same first level.

    An unknown code is similar to nothing, so a typo never blocks or excuses a quota.
    """
    a, b = first_level_of(code_a), first_level_of(code_b)
    return a is not None and a == b
