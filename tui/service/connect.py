"""The connector the service talks to Salesforce with, built from its configuration.

Apart from sfauth.py because the configuration names a sign-in (``SignIn``): the config
imports sign-in, so sign-in cannot import the config.
"""

from __future__ import annotations

from tui.service.config import ServiceConfig
from tui.service.salesforce import CallHook, SalesforceConnector, StaticToken
from tui.service.sfauth import SignInSession
from tui.service.sfauth_methods import tls_verify


def open_connector(config: ServiceConfig, on_call: CallHook) -> SalesforceConnector:
    """The connector the service uses: a sign-in when configured, else org_url + org_token."""
    verify = tls_verify(config.ca_file)
    if config.sign_in is None:
        return SalesforceConnector(
            config.org_url,
            StaticToken(config.org_token or ""),
            config.api_version,
            transport=config.org_transport,
            on_call=on_call,
            verify=verify,
        )
    sessions = SignInSession(config.sign_in, transport=config.org_transport, verify=verify)
    return SalesforceConnector(
        None,
        sessions,
        config.api_version,
        transport=config.org_transport,
        on_call=on_call,
        verify=verify,
    )
