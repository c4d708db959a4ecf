"""Human references for referrals, e.g. TH-7K3M-X9QP.

Read aloud on the phone and typed from letters, so the alphabet leaves out characters that
are easily confused (0/O, 1/I/L) and vowels that could spell words.
"""

import secrets

ALPHABET = "23456789BCDFGHJKMNPQRSTVWXYZ"
PREFIX = "TH"


def reference_generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIX}-{body[:4]}-{body[4:]}"


def reference_is_well_formed(value: str) -> bool:
    parts = value.upper().split("-")
    return (
        len(parts) == 3
        and parts[0] == PREFIX
        and all(len(part) == 4 and set(part) <= set(ALPHABET) for part in parts[1:])
    )
