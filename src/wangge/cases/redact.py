"""Finding personal data in text meant for the public board (PIPL): ID numbers, phones, plate-like IDs."""

import re

from django.utils.translation import gettext_lazy as _

PATTERNS = [
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"), _("an ID number")),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), _("a mobile number")),
    (re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"), _("a landline number")),
]


def find_personal_data(text: str) -> list[str]:
    """What kinds of personal data the text contains, each named once, in a stable order."""
    return [str(label) for pattern, label in PATTERNS if pattern.search(text or "")]


def mask_personal_data(text: str) -> str:
    """The text with every match replaced by asterisks except its last four characters."""
    for pattern, _label in PATTERNS:
        text = pattern.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text or "")
    return text
