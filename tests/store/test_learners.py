"""Class mode in the store (issue 16): the migration that keeps old data, learners, tokens,
the learners' limits, and the secrets in the data dir."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from app.store.db import Store
from app.store.keys import cookie_key, teacher_token
from app.store.learners import BadName, Learners, token_hash
from app.store.quotas import QuotaBook, Quotas

# The tables as a database made before class mode has them (no owner, no shared).
OLD_SCHEMA = """
CREATE TABLE models (id TEXT PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL,
                     info TEXT NOT NULL);
CREATE TABLE runs (id TEXT PRIMARY KEY, status TEXT NOT NULL, config TEXT NOT NULL,
                   created TEXT NOT NULL, started TEXT, finished TEXT, reason TEXT,
                   model_id TEXT, progress TEXT, latest TEXT,
                   evaluations TEXT NOT NULL DEFAULT '[]', predictions BLOB, confidence BLOB);
"""


def test_an_old_database_keeps_its_data_which_belongs_to_the_local_teacher(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO runs (id, status, config, created) VALUES "
               "('r_old', 'finished', '{\"epochs\": 1}', '2026-01-01T00:00:00Z')")  # fmt: skip
    info = json.dumps({"test_accuracy": 0.9})
    db.execute("INSERT INTO models VALUES ('m_old', 'old one', '2026-01-01T00:00:00Z', ?)", (info,))
    db.commit()
    db.close()
    store = Store(path)
    (run,) = store.load_runs()
    assert run.id == "r_old" and run.status == "finished" and run.owner == "local"
    (model,) = store.list_models()
    assert (model.id, model.name, model.owner, model.shared) == ("m_old", "old one", "local", 1)
    assert store.update_model("m_old", name=None, shared=False)
    (model,) = store.list_models()
    assert (model.owner, model.shared) == ("local", 0)
    assert not store.update_model("m_nope", name="x", shared=None)
    assert store.delete_model("m_old") and store.list_models() == []
    store.close()
    Store(path).close()  # opening again migrates nothing twice


def test_learners_names_and_tokens_survive_a_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    learners = Learners(store)
    ada = learners.create()
    assert ada.id.startswith("u_") and "-" in ada.name
    learners.rename(ada.id, "  ada <b>  ")
    token = learners.new_token(ada.id)
    with pytest.raises(BadName):
        learners.rename(ada.id, "a\x00b")
    store.close()
    store = Store(tmp_path / "db.sqlite3")
    again = Learners(store)
    assert again.get(ada.id) is not None and again.name_of(ada.id) == "ada <b>"
    found = again.by_token(token)
    assert found is not None and found.id == ada.id
    assert again.by_token(token + "x") is None
    rows = store.query("SELECT hash FROM tokens")
    assert rows == [(token_hash(token),)]  # only the hash is stored
    assert again.name_of("local") == "teacher"
    assert [learner.id for learner in again.all()] == ["local", ada.id]
    store.close()


def test_quotas_default_from_the_settings_and_keep_the_teachers_change(tmp_path: Path) -> None:
    defaults = Quotas(active_runs=1, max_parameters=1000, models=20)
    store = Store(tmp_path / "db.sqlite3")
    assert QuotaBook(store, defaults).current == defaults
    QuotaBook(store, defaults).change(active_runs=3)
    store.close()
    store = Store(tmp_path / "db.sqlite3")
    assert QuotaBook(store, defaults).current == Quotas(3, 1000, 20)
    store.close()


def test_secrets_are_created_once_with_mode_0600(tmp_path: Path) -> None:
    key = cookie_key(tmp_path)
    token = teacher_token(tmp_path, None)
    assert len(key) >= 32 and len(token) >= 16
    assert cookie_key(tmp_path) == key and teacher_token(tmp_path, None) == token
    for name in ("cookie-key", "teacher-token"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    assert teacher_token(tmp_path, "x" * 20) == "x" * 20
    with pytest.raises(ValueError):
        teacher_token(tmp_path, "short")
