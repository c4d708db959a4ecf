"""Checks on what a person types, each with a message that says how to put it right.

Pure functions (no database), shared by the self-referral forms and the partner API.
"""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError

NHS_NUMBER_WEIGHTS = range(10, 1, -1)
# UK postcode, as written by people: optional space, any case. Includes GIR 0AA.
POSTCODE_RE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]|"
    r"[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 means 0, 10 is never valid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], NHS_NUMBER_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def clean_nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not digits:
        return ""
    if not digits.isdigit():
        raise ValidationError("NHS number must contain only numbers, like 943 476 5919")
    if len(digits) != 10:
        raise ValidationError("NHS number must be 10 digits long, like 943 476 5919")
    if not nhs_number_is_valid(digits):
        raise ValidationError(
            "That is not a valid NHS number. Check it, or leave it out: it is optional"
        )
    return digits


def clean_postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", (value or "").upper())
    if not compact:
        return ""
    if not POSTCODE_RE.match(compact):
        raise ValidationError("Enter a real UK postcode, like LS1 4AP")
    return f"{compact[:-3]} {compact[-3:]}"


def postcode_district(postcode: str) -> str:
    return postcode.split(" ")[0] if postcode else ""


def clean_phone(value: str, *, kind: str) -> str:
    """A UK or international number in E.164 form; kind is 'mobile' or 'landline'."""
    raw = (value or "").strip()
    if not raw:
        return ""
    example = "07400 123 456" if kind == "mobile" else "0113 496 0000"
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        raise ValidationError(
            f"Enter a phone number, like {example}, or an international number starting with +"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"Enter a real phone number, like {example}")
    number_type = phonenumbers.number_type(number)
    is_mobile = number_type in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    if kind == "mobile" and not is_mobile:
        raise ValidationError(
            "That looks like a landline number. Enter a mobile number here, or put it under "
            "landline"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def clean_birth_date(born: date, *, today: date, min_age: int, max_age: int | None) -> date:
    if born > today:
        raise ValidationError("Date of birth must be in the past")
    age = age_on(born, today)
    if age > 120:
        raise ValidationError("Date of birth must be after " + f"{today.year - 120}")
    if age < min_age:
        raise ValidationError(f"You need to be {min_age} or over to refer yourself to this service")
    if max_age is not None and age > max_age:
        raise ValidationError(f"This service sees people aged {max_age} and under")
    return born
