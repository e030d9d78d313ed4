"""An ``api_version`` older than the calls need is refused when the service starts.

sObject Collections update exists from API 42.0 and its upsert from 46.0; a live org
answers 404 for them at older versions, so ``synchealth serve`` must not start with
one and then fail at the first resync.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from test_serve_profile import config_file, no_user_config, secret_file, serve  # noqa: F401

from tui.service.config import ServiceConfig

PROFILE = """
[profiles.p.salesforce]
auth = "client_credentials"
domain_url = "https://acme.my.salesforce.com"
client_id = "3MVG9-key"
client_secret_file = "sf.secret"
api_version = "{version}"
"""


@pytest.mark.parametrize(
    ("version", "named"),
    [
        ("45.0", "sObject Collections upsert needs v46.0"),
        ("v41.0", "sObject Collections update needs v42.0"),
    ],
)
def test_serve_refuses_an_old_api_version_in_the_profile(
    tmp_path: Path, version: str, named: str
) -> None:
    secret_file(tmp_path / "sf.secret", "cs-secret-value")
    proc = serve(config_file(tmp_path, PROFILE.format(version=version)), "--profile", "p")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert named in err and "use v46.0 or later" in err
    assert "Traceback" not in err


def test_serve_refuses_an_old_api_version_from_the_environment(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", "cs-secret-value")
    config = config_file(tmp_path, PROFILE.format(version="62.0"))
    proc = serve(config, "--profile", "p", env={"SYNCHEALTH_SF_API_VERSION": "44.0"})
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert "$SYNCHEALTH_SF_API_VERSION" in err and "v46.0" in err


def test_the_service_config_refuses_an_old_api_version(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match=r"upsert needs v46\.0"):
        ServiceConfig(db_path=tmp_path / "x.sqlite3", org_token="t", api_version="v45.0")
    config = ServiceConfig(db_path=tmp_path / "x.sqlite3", org_token="t", api_version="46.0")
    assert config.api_version == "v46.0"
