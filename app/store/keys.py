"""The class mode's secrets, kept in the data dir with mode 0600: the key that signs identity
cookies, and the teacher token (unless NNP_TEACHER_TOKEN gives one)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

COOKIE_KEY_FILE = "cookie-key"
TEACHER_TOKEN_FILE = "teacher-token"
MIN_TOKEN_LENGTH = 16


def read_or_create(path: Path, nbytes: int = 32) -> str:
    """The secret in `path`, created (random, mode 0600, atomically) when it does not exist
    or is empty."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    value = secrets.token_urlsafe(nbytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    try:
        os.link(tmp, path)  # fails if another process created it meanwhile: theirs wins
    except FileExistsError:
        tmp.unlink()
        return read_or_create(path, nbytes)
    tmp.unlink()
    return value


def cookie_key(data_dir: Path) -> bytes:
    return read_or_create(data_dir / COOKIE_KEY_FILE).encode()


def teacher_token(data_dir: Path, given: str | None) -> str:
    """NNP_TEACHER_TOKEN when set (ValueError when it is too short to be a secret), else the
    token stored in the data dir (generated on first use)."""
    if given is not None:
        if len(given.strip()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the teacher token must be at least {MIN_TOKEN_LENGTH} characters")
        return given.strip()
    return read_or_create(data_dir / TEACHER_TOKEN_FILE, nbytes=18)
