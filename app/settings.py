"""All runtime configuration, read once from NNP_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.data.datasets import DatasetOverride
from app.data.mnist import DataSource
from app.nn.vocab import DatasetName
from app.runs.executor import ExecutorName
from app.runs.fanout import STALL_SECONDS


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "nn-playground"


def default_cache_dir() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache") / "nn-playground"


class Settings(BaseSettings):
    """The server's settings. Every field can be set as NNP_<FIELD> (e.g. NNP_PORT=9000)."""

    model_config = SettingsConfigDict(env_prefix="NNP_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="SQLite + saved weights")
    mnist_dir: Path | None = Field(
        default=None, description="A directory that already holds the four MNIST files"
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir, description="Where downloaded MNIST is kept"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_runs: int | None = Field(
        default=None,
        ge=1,
        description="Concurrent training runs (default: this machine's cores, or with Ray the "
        "cluster's CPUs)",
    )
    max_queued: int = Field(
        default=100, ge=0, description="Runs that may wait for a free slot before POST gets 429"
    )
    paused_slot_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A run paused this long checkpoints and gives its training slot back",
    )
    executor: ExecutorName = Field(
        default="local",
        description="Where runs train: local = a worker process per run on this machine, "
        "ray = a Ray actor per run on a cluster (the default when ray_address is set)",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster's head as HOST:PORT (e.g. 10.0.0.5:6379); implies "
        'executor=ray; needs pip install "nn-playground[ray]"',
    )
    max_request_bytes: int = Field(default=2_000_000, ge=1024, description="Largest request body")
    max_model_bytes: int = Field(default=20_000_000, ge=1024, description="Largest uploaded .npz")
    max_uploaded_models: int = Field(
        default=50, ge=0, description="How many uploaded models may be stored at once"
    )
    max_uploaded_bytes: int = Field(
        default=250_000_000, ge=0, description="Total size of the stored uploaded models' files"
    )
    mnist_mirrors: list[str] | None = Field(
        default=None,
        description="Base URLs to download MNIST from, as a JSON list (default: public mirrors)",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host names (JSON list) besides localhost, 127.0.0.1, [::1] and host",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description='Extra origins (JSON list, e.g. ["http://pc:8000"]) allowed to mutate',
    )

    # ---- load limits (issue 18): heavy requests, request bodies --------------------------
    heavy_slots: int | None = Field(
        default=None,
        ge=1,
        description="Heavy requests (predictions, explains) worked on at once (default: this "
        "machine's cores minus one, at least 1: a core stays free for the event loop)",
    )
    heavy_wait_seconds: float = Field(
        default=10.0, gt=0, description="How long a heavy request waits for a slot before 503"
    )
    heavy_queue: int = Field(
        default=64,
        ge=0,
        description="Heavy requests that may wait for a slot; more get 503 at once",
    )
    ws_stall_seconds: float = Field(
        default=STALL_SECONDS,
        gt=0,
        le=3600,
        description="A run's WebSocket that takes no byte for this long while ≥ 64 kB wait for "
        "it is closed with 1013 (raise it for clients on lossy links)",
    )
    body_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Time a client has to send a request body (else 408)"
    )
    max_body_reads: int = Field(
        default=16,
        ge=1,
        description="Request bodies read at once; more wait (up to half the body timeout, "
        "then 503)",
    )

    # ---- class mode (issue 16): learners, owners and a teacher ---------------------------
    class_mode: bool = Field(
        default=False,
        validation_alias=AliasChoices("class_mode", "NNP_CLASS", "NNP_CLASS_MODE"),
        description="Class mode (NNP_CLASS=1 or serve --class): every browser is a learner who "
        "owns their runs and models; the teacher link/token controls everything",
    )
    teacher_token: SecretStr | None = Field(
        default=None,
        description="The teacher's token (at least 16 characters); default: one generated "
        "and kept in the data dir (teacher-token, mode 0600)",
    )
    class_link: str = Field(
        default="",
        description="The learners' link the dashboard shows (and its QR code); default: the "
        "address the teacher's browser used (the LAN address for a server on 0.0.0.0)",
    )
    learner_max_active_runs: int = Field(
        default=1, ge=0, description="Live runs (queued, running, paused) a learner may have"
    )
    learner_max_parameters: int = Field(
        default=300_000, ge=0, description="The largest network a learner may train or upload"
    )
    learner_max_models: int = Field(
        default=20, ge=0, description="Models (saved and uploaded) a learner may keep"
    )
    rate_predict: int = Field(
        default=600, ge=1, description="Predictions a learner may ask for in any 60 seconds"
    )
    rate_explain: int = Field(
        default=120, ge=1, description="Explains a learner may ask for in any 60 seconds"
    )
    rate_runs: int = Field(
        default=10, ge=1, description="Runs a learner may start in any 60 seconds"
    )

    # ---- labelled drawings (issue 17): limits ----------------------------------------------
    drawings_max_per_owner: int = Field(
        default=20_000,
        ge=0,
        description="Labelled drawings one owner (a learner, or the local user) may keep",
    )
    drawings_max_bytes_per_owner: int = Field(
        default=500_000_000, ge=0, description="The bytes one owner's drawings' images may take"
    )
    drawing_max_image_bytes: int = Field(
        default=2_000_000, ge=1024, description="Largest image of one labelled drawing"
    )
    drawings_import_max_bytes: int = Field(
        default=100_000_000, ge=1024, description="Largest zip POST /api/drawings/import takes"
    )
    drawings_import_max_rows: int = Field(
        default=20_000, ge=1, description="Drawings one import may hold"
    )
    drawings_import_max_unpacked: int = Field(
        default=300_000_000,
        ge=1024,
        description="The most an import zip may unpack to, all files together",
    )
    rate_drawings: int = Field(
        default=120, ge=1, description="Drawings a learner may store in any 60 seconds"
    )

    @model_validator(mode="after")
    def _ray_address_means_ray(self) -> Settings:
        if self.ray_address and "executor" not in self.model_fields_set:
            self.executor = "ray"
        return self

    mnist_download: bool = Field(
        default=True, description="Download MNIST on first use when it is not found locally"
    )
    # fashion (issue 17 §3): the other registry datasets' sources (app/data/datasets.py).
    datasets: dict[DatasetName, DatasetOverride] = Field(
        default_factory=dict,
        description='Other datasets\' sources, as JSON by name, e.g. {"fashion_mnist": {"dir": '
        '"/data/fashion", "mirrors": ["https://..."]}}; "checksums" for a private copy',
    )

    def data_source(self) -> DataSource:
        """Where MNIST comes from, for app/data's loaders and the runs' workers."""
        mirrors = tuple(self.mnist_mirrors) if self.mnist_mirrors else None
        return DataSource(
            self.mnist_dir, self.cache_dir, self.mnist_download, mirrors, dict(self.datasets)
        )
