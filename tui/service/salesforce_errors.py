"""What goes wrong reaching Salesforce, as exceptions whose messages a person can act on
(the access token never appears in them)."""

from __future__ import annotations


class SalesforceError(Exception):
    """Salesforce could not do what was asked; the message says why."""


class SignInError(SalesforceError):
    """Signing in to Salesforce failed; the message says what to check, never a secret."""


class SessionExpired(SalesforceError):
    """The access token was refused, even after one refresh."""


class RequestLimitExceeded(SalesforceError):
    """The org has spent its daily API requests; nothing more may be sent today."""


class SalesforceBusy(SalesforceError):
    """A short-lived limit (concurrent long requests, 420/429): nothing was done, retry soon."""


class SalesforceUnavailable(SalesforceError):
    """Salesforce could not be reached, timed out or answered with a server error."""


class SalesforceProtocolError(SalesforceError):
    """Salesforce answered with something that is not the JSON it should send."""


class SalesforceNotFound(SalesforceError):
    """Salesforce answered 404: the resource does not exist or the user may not see it."""
