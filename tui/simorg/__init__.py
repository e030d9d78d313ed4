"""The simulated Salesforce org (an ASGI app) and the deterministic demo data.

``tui.simorg.app.create_simorg`` serves the REST subset the connector uses (limits,
collections update and upsert, single-record upsert) the way a real org answers it,
so third-party clients such as simple-salesforce accept it, and, given a
``ConnectedApp``, the OAuth token endpoint; ``tui.simorg.demo.write_demo_ledger``
writes a demo ledger whose errors that org reproduces. See each module's docstring.
"""

from tui.simorg.app import create_simorg
from tui.simorg.oauth import ConnectedApp
from tui.simorg.state import OrgState

__all__ = ["ConnectedApp", "OrgState", "create_simorg"]
