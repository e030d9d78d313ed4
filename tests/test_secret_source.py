"""Secrets from environment variables and owner-only files: what is read, what is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from tui.core.secret_source import (
    MAX_SECRET_BYTES,
    SecretSourceError,
    read_secret,
    required_secret_from_env,
    secret_from_env,
    secret_from_file,
)

SECRET = "s3cr3t-Value-0123456789"


def secret_file(tmp_path: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_an_owner_only_file_is_read_without_surrounding_whitespace(tmp_path: Path) -> None:
    value = secret_from_file(secret_file(tmp_path), "the client secret")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == SECRET
    assert SECRET not in repr(value) and SECRET not in str(value)


@pytest.mark.parametrize("mode", [0o400, 0o600, 0o700])
def test_modes_for_the_owner_alone_are_accepted(tmp_path: Path, mode: int) -> None:
    assert secret_from_file(secret_file(tmp_path, mode=mode), "x").get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (0o644, "it can be read by other users"),
        (0o640, "it can be read by other users"),
        (0o604, "it can be read by other users"),
        (0o620, "it can be changed by other users"),
        (0o602, "it can be changed by other users"),
        (0o610, "other users have access to it"),
    ],
)
def test_a_file_others_can_use_is_refused_even_for_root(
    tmp_path: Path, mode: int, reason: str
) -> None:
    path = secret_file(tmp_path, mode=mode)
    with pytest.raises(SecretSourceError) as caught:
        secret_from_file(path, "the client secret")
    message = str(caught.value)
    assert message.startswith(f"refusing to read the client secret from {path}: {reason}")
    assert f"(mode {mode:04o})" in message
    assert message.endswith(f"run chmod 600 {path}")
    assert SECRET not in message


def test_the_mode_checked_is_the_mode_of_the_file_a_symlink_points_to(tmp_path: Path) -> None:
    target = secret_file(tmp_path, mode=0o644)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(SecretSourceError, match="can be read by other users"):
        secret_from_file(link, "the token")
    target.chmod(0o600)
    assert secret_from_file(link, "the token").get_secret_value() == SECRET


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretSourceError) as caught:
        secret_from_file(tmp_path / "nope.key", "the JWT private key")
    assert str(caught.value) == (
        f"cannot read the JWT private key: the file {tmp_path / 'nope.key'} does not exist"
    )


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n"])
def test_an_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = secret_file(tmp_path, text)
    with pytest.raises(SecretSourceError, match=f"the file {path} is empty"):
        secret_from_file(path, "the token")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretSourceError, match="is a directory"):
        secret_from_file(tmp_path, "the token")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(SecretSourceError, match="is not a regular file"):
        secret_from_file(fifo, "the token")


def test_a_huge_file_is_refused_as_probably_the_wrong_one(tmp_path: Path) -> None:
    path = secret_file(tmp_path, "x" * (MAX_SECRET_BYTES + 1))
    with pytest.raises(SecretSourceError, match="too large for a secret"):
        secret_from_file(path, "the token")


def test_binary_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.bin"
    path.write_bytes(b"\xff\xfe\x00abc")
    path.chmod(0o600)
    with pytest.raises(SecretSourceError, match="not UTF-8 text"):
        secret_from_file(path, "the token")


def test_an_unreadable_file_gets_a_clear_message(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads a 000 file anyway; a path through a non-directory fails for everyone
        path = secret_file(tmp_path) / "inside"
        expected = "Not a directory"
    else:
        path = secret_file(tmp_path, mode=0o000)
        expected = "permission denied"
    with pytest.raises(SecretSourceError, match=f"cannot read the token from {path}: {expected}"):
        secret_from_file(path, "the token")


def test_environment_values_are_trimmed_and_blank_means_unset() -> None:
    env = {"A": f"  {SECRET}\n", "B": "   ", "C": ""}
    value = secret_from_env("A", env)
    assert value is not None and value.get_secret_value() == SECRET
    assert secret_from_env("B", env) is None
    assert secret_from_env("C", env) is None
    assert secret_from_env("D", env) is None


def test_a_required_variable_that_is_unset_is_named() -> None:
    with pytest.raises(SecretSourceError) as caught:
        required_secret_from_env("ACME_SF_SECRET", "the client secret", {})
    assert (
        str(caught.value)
        == "the client secret is to be read from $ACME_SF_SECRET, which is not set"
    )


def test_read_secret_takes_one_source(tmp_path: Path) -> None:
    path = secret_file(tmp_path)
    assert read_secret("x", environ={}) is None
    from_env = read_secret("x", env="V", environ={"V": SECRET})
    from_file = read_secret("x", file=path, environ={})
    assert from_env is not None and from_file is not None
    assert from_env.get_secret_value() == from_file.get_secret_value() == SECRET
    with pytest.raises(SecretSourceError, match="not both"):
        read_secret("x", env="V", file=path, environ={"V": SECRET})
