"""Who a request comes from, worked out from its credentials (the machinery behind
app/api/identity.py's dependencies, with no FastAPI in it).

* An identity cookie (`nnp_id`): `<principal id>.<HMAC-SHA256 signature>`, signed with a key
  kept in the data dir (app/store/keys.py). The teacher's cookie is signed over the teacher
  token as well, so a new teacher token makes every old teacher cookie worthless.
* `Authorization: Bearer <token>`: the teacher token, or a learner's token (POST
  /api/me/token, `nn-playground token`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from app.store.db import TEACHER_ID
from app.store.learners import Learner, Learners

COOKIE_NAME = "nnp_id"
COOKIE_MAX_AGE = 365 * 24 * 3600
ANONYMOUS_ID = "anonymous"


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    is_teacher: bool


ANONYMOUS = Principal(ANONYMOUS_ID, "anonymous", is_teacher=False)


class BadCredentials(Exception):
    """An Authorization header that names no one (→ 401): better said than ignored."""


class Identity:
    """Signs and checks identity cookies and tokens. `teacher_token` None: not class mode
    (every request is the local teacher)."""

    def __init__(self, learners: Learners, key: bytes, teacher_token: str | None) -> None:
        self.learners = learners
        self._key = key
        self._teacher_token = teacher_token
        self.class_mode = teacher_token is not None
        self.local = Principal(TEACHER_ID, learners.name_of(TEACHER_ID), is_teacher=True)
        self.anonymous = ANONYMOUS

    # -- principals -------------------------------------------------------------------------

    def teacher(self) -> Principal:
        return Principal(TEACHER_ID, self.learners.name_of(TEACHER_ID), is_teacher=True)

    def of(self, learner: Learner) -> Principal:
        if learner.id == TEACHER_ID:
            return self.teacher()
        return Principal(learner.id, learner.name, is_teacher=False)

    def new_learner(self) -> Principal:
        return self.of(self.learners.create())

    def is_teacher_token(self, token: str) -> bool:
        expected = self._teacher_token
        return expected is not None and hmac.compare_digest(token.encode(), expected.encode())

    # -- cookies ----------------------------------------------------------------------------

    def _signature(self, principal_id: str) -> str:
        message = principal_id
        if principal_id == TEACHER_ID:
            message += "|" + (self._teacher_token or "")
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def cookie_value(self, principal: Principal) -> str:
        return f"{principal.id}.{self._signature(principal.id)}"

    def set_cookie(self, principal: Principal) -> str:
        """The Set-Cookie header's value that keeps `principal` signed in."""
        return (
            f"{COOKIE_NAME}={self.cookie_value(principal)}; Max-Age={COOKIE_MAX_AGE}; "
            "Path=/; HttpOnly; SameSite=Lax"
        )

    def from_cookie(self, value: str | None) -> Principal | None:
        """The principal a cookie names, or None when it is missing, forged or outdated."""
        if not value:
            return None
        principal_id, _, signature = value.rpartition(".")
        if not principal_id or not hmac.compare_digest(
            signature.encode(), self._signature(principal_id).encode()
        ):
            return None
        learner = self.learners.get(principal_id)
        return self.of(learner) if learner is not None else None

    # -- a request's credentials --------------------------------------------------------------

    def from_bearer(self, authorization: str) -> Principal:
        """The principal of an `Authorization: Bearer <token>` header; BadCredentials else."""
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise BadCredentials("the Authorization header must be 'Bearer <token>'")
        if self.is_teacher_token(token):
            return self.teacher()
        learner = self.learners.by_token(token)
        if learner is None:
            raise BadCredentials(
                "this bearer token is not known here: make one with POST /api/me/token "
                "or `nn-playground token`"
            )
        return self.of(learner)

    def resolve(self, authorization: str | None, cookie: str | None) -> Principal | None:
        """The request's principal: its bearer token first, else its cookie; None for a
        request with neither (BadCredentials for a token that names no one)."""
        if authorization is not None:
            return self.from_bearer(authorization)
        return self.from_cookie(cookie)
