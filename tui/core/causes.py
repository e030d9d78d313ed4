"""Causes: errors of one subtype and object whose messages differ only by ids, values,
names and numbers are one cause.

:func:`cause_template` rewrites a Salesforce (or integration) message into its shape:
record ids, e-mail addresses, URLs, quoted names, the value Salesforce names after a
known phrase ("bad value for restricted picklist field: X") and numbers become
placeholders; field names and labels stay, since the field is part of the cause
("Contact Tier: bad value for restricted picklist field: <value>"). It is a pure
function of its input, so the same message always lands in the same cause, in the
service and in tests alike. :func:`cause_key` names a cause in 16 hex digits.
"""

from __future__ import annotations

import hashlib
import re

#: The placeholders a template carries.
ID, EMAIL, URL, VALUE, NUMBER = "<id>", "<email>", "<url>", "<value>", "<n>"

#: Phrases after which Salesforce names the offending value, up to the end of the
#: line or the " (max length=N)" aside: REST error messages of
#: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, INVALID_EMAIL_ADDRESS, MALFORMED_ID and
#: FIELD_INTEGRITY_EXCEPTION ("id value of incorrect type"), STRING_TOO_LONG ("data value
#: too large"), INVALID_TYPE_ON_FIELD_IN_RECORD ("value not of required type"), the
#: integration's own queue refusal, and "invalid date"/"invalid number" refusals.
_VALUE_AFTER = re.compile(
    r"(?P<phrase>bad value for restricted picklist field|invalid email address|"
    r"id value of incorrect type|data value too large|value not of required type|"
    r"can't be assigned to a queue|invalid (?:date|datetime|number|integer|double|boolean|"
    r"currency|percent|time)(?: format)?)"
    r"\s*:\s*(?P<value>[^\n]*?)(?=\s+\(max length=|\s*$|\n)",
    re.IGNORECASE,
)
#: Names the integration's own messages carry ("the Salesforce account NAME to sync").
_NAME_IN = re.compile(r"(?P<before>Salesforce account )(?P<name>.+?)(?= to sync)")
_URL = re.compile(r"\bhttps?://[^\s'\"<>)]+", re.IGNORECASE)
_EMAIL = re.compile(r"[^\s@'\"<>():;,\[\]]*@[^\s'\"<>():;,\[\]]*")
#: A 15- or 18-character record id: letters and digits, with at least one digit.
_RECORD_ID = re.compile(
    r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?\b"
)
#: A quoted name or value. What names the cause stays: an automation ("the “Lead
#: Routing” process failed": which flow failed), a field ("No such column 'Region__c'",
#: any custom API name).
_QUOTED = re.compile(
    r"(?<!column )(?:'(?![A-Za-z0-9_]+__[a-z]+')[^'\n]*'|\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’"
    r"|「[^」\n]*」)(?!\s+(?:process|flow)\b)"
)
_NUMBER = re.compile(r"(?<![\w<])\d+(?:[.,]\d+)*(?![\w>])")
_SPACES = re.compile(r"[ \t]+")


def cause_template(message: str) -> str:
    """``message`` with what differs between records of one cause replaced by placeholders."""
    text = _URL.sub(URL, message)
    text = _VALUE_AFTER.sub(lambda m: f"{m['phrase']}: {VALUE}", text)
    text = _NAME_IN.sub(lambda m: f"{m['before']}{VALUE}", text)
    text = _EMAIL.sub(EMAIL, text)
    text = _RECORD_ID.sub(ID, text)
    text = _QUOTED.sub(f"'{VALUE}'", text)
    text = _NUMBER.sub(NUMBER, text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def cause_key(subtype: str, sf_object: str, message: str) -> str:
    """The cause of an error: 16 hex digits of its subtype, object and message template."""
    shape = f"{subtype}\x1f{sf_object}\x1f{cause_template(message)}"
    return hashlib.sha256(shape.encode("utf-8")).hexdigest()[:16]
