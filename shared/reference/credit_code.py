"""GB 32100-2015 unified social credit code (统一社会信用代码): check a code an
applicant typed, and build valid codes for tests and fixtures.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALPHABET",
    "LENGTH",
    "RULES",
    "Problem",
    "check_credit_code",
    "is_valid_credit_code",
    "region_of",
    "organization_code_check_character",
    "final_check_character",
    "with_check_characters",
    "make_credit_code",
]

# GB 32100 drops I, O, Z, S and V because they read like 1, 0, 2, 5 and U;
# the position of a character in this string is also its value in the final check.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18

FINAL_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**i mod 31
ORGANIZATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

RULES = ("length", "alphabet", "organization_code_check", "final_check")


@dataclass(frozen=True)
class Problem:
    """One reason a credit code is refused; `rule` is one of RULES."""

    rule: str
    message: str


def _gb11714_value(ch: str) -> int:
    # GB 11714 values letters by their place in the full Latin alphabet (A=10 … Z=35),
    # not by their index in the credit-code alphabet, so the two checks differ.
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def organization_code_check_character(body: str) -> str:
    """The GB 11714 check character (position 17) for the 8-character organization code body."""
    if len(body) != 8 or any(ch not in _VALUE for ch in body):
        raise ValueError(f"an organization code body is 8 characters from {ALPHABET!r}, got {body!r}")
    remainder = 11 - sum(_gb11714_value(ch) * w for ch, w in zip(body, ORGANIZATION_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def final_check_character(first17: str) -> str:
    """The GB 32100 check character (position 18) over positions 1–17."""
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError(f"the final check needs 17 characters from {ALPHABET!r}, got {first17!r}")
    remainder = 31 - sum(_VALUE[ch] * w for ch, w in zip(first17, FINAL_WEIGHTS)) % 31
    return ALPHABET[remainder % 31]


def check_credit_code(code: str) -> list[Problem]:
    """Every reason `code` is not a valid credit code; an empty list means it is valid.

    The code is checked exactly as given: no trimming, no case folding, so what is
    stored is what was checked.
    """
    if not isinstance(code, str) or len(code) != LENGTH:
        got = len(code) if isinstance(code, str) else type(code).__name__
        return [Problem("length", f"a credit code has {LENGTH} characters, got {got}")]

    problems = []
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            hint = f" (use upper case '{ch.upper()}')" if ch.upper() in _VALUE else ""
            problems.append(Problem(
                "alphabet",
                f"position {position}: '{ch}' is not allowed{hint}; a credit code uses only "
                f"0-9 and A-Z without I, O, S, V, Z",
            ))
        elif 3 <= position <= 8 and not ch.isdigit():
            problems.append(Problem(
                "alphabet",
                f"position {position}: '{ch}' is not allowed; positions 3-8 are the "
                f"administrative division code and must be digits",
            ))
    # The checks are meaningless over characters that have no value.
    if problems:
        return problems

    expected = organization_code_check_character(code[8:16])
    if code[16] != expected:
        problems.append(Problem(
            "organization_code_check",
            f"position 17 (organization code check character) is '{code[16]}', expected '{expected}'",
        ))
    # Computed over positions 1–17 as written, so a wrong position 17 may show up here too.
    expected = final_check_character(code[:17])
    if code[17] != expected:
        problems.append(Problem(
            "final_check",
            f"position 18 (final check character) is '{code[17]}', expected '{expected}' "
            f"for positions 1-17 as written",
        ))
    return problems


def is_valid_credit_code(code: str) -> bool:
    return not check_credit_code(code)


def region_of(code: str) -> str:
    """The administrative division code (GB/T 2260) in positions 3–8 of a credit code."""
    if not isinstance(code, str) or len(code) < 8:
        raise ValueError(f"a credit code carries its region in positions 3-8, got {code!r}")
    return code[2:8]


def with_check_characters(first16: str) -> str:
    """A full 18-character code from positions 1–16 (everything but the two check characters)."""
    if len(first16) != 16:
        raise ValueError(f"expected the 16 characters before the check characters, got {len(first16)}")
    first17 = first16 + organization_code_check_character(first16[8:16])
    return first17 + final_check_character(first17)


def make_credit_code(
    registration: str = "9",
    category: str = "1",
    region: str = "320000",
    org_body: str = "MA1XXXXX",
) -> str:
    """A valid credit code from its parts; defaults give an enterprise (91) registered in Jiangsu.

    `org_body` is the 8-character organization code body; positions 17 and 18 are computed.
    """
    if len(registration) != 1 or len(category) != 1:
        raise ValueError("registration and category codes are one character each")
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region is a 6-digit administrative division code, got {region!r}")
    code = with_check_characters(registration + category + region + org_body)
    problems = check_credit_code(code)
    if problems:
        raise ValueError("; ".join(p.message for p in problems))
    return code
