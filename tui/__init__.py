"""synchealth: a terminal console for the health of a CRM <-> Salesforce sync."""

__version__ = "0.1.0"
