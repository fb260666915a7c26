"""The `nn-playground` command: serve | download | train | evaluate | predict | export.

Every expected failure (bad option, missing or malformed file, MNIST unavailable, an empty
drawing) ends with one line on stderr and a non-zero exit status, never a traceback. Progress
goes to stderr, so stdout carries only results (with --json: JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import json
import math
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import numpy as np

from app.clock import utc_now

if TYPE_CHECKING:
    from app.data.datasets import Dataset
    from app.data.mnist import MNIST
    from app.jsontypes import JSONObject
    from app.nn.config import ConfigField, TrainConfig
    from app.nn.network import Network
    from app.nn.protocol import TrainerEvent
    from app.nn.trainer import Trainer
    from app.settings import Settings

T = TypeVar("T")

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """An expected failure: main() prints the message as one line and exits with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(" ".join(str(message).split()))
        self.code = code


# ---- terminal progress --------------------------------------------------------------------


class StatusLine:
    """One self-rewriting status line on a terminal (at most ~10 redraws a second).

    When the stream is not a terminal (a log file, CI), `update` prints nothing and only the
    lines passed to `done` appear, so logs are not flooded with carriage returns.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self._last = 0.0
        self._width = 0

    def update(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not force and now - self._last < self.interval):
            return
        self._last = now
        pad = max(self._width - len(text), 0)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def done(self, text: str) -> None:
        """Replace the status line with `text` and move to a new line."""
        if self.tty:
            self.stream.write("\r" + text + " " * max(self._width - len(text), 0) + "\n")
            self._width = 0
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """`[#####.....]  45%  5.0/11.1 MB` for `done` of `total` bytes (total 0 = unknown)."""
    mb_done = done / 1e6
    if total <= 0:
        return f"[{'?' * width}]  {mb_done:.1f} MB"
    fraction = min(done / total, 1.0)
    filled = round(fraction * width)
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] {fraction:4.0%}  {mb_done:.1f}/{total / 1e6:.1f} MB"


# ---- shared helpers -------------------------------------------------------------------------


def _load_mnist(args: argparse.Namespace, dataset: str = "mnist") -> MNIST:
    """MNIST from --mnist-dir / $NNP_MNIST_DIR / the cache, downloading with a progress bar;
    another `dataset` of the registry from its $NNP_<NAME>_DIR / its folder in the cache."""
    from app.data.mnist import load_dataset, load_mnist

    if dataset != "mnist":  # fashion (issue 17 §3)
        ds, _, cache = _dataset_source(args, dataset)
        return _with_progress(lambda p: load_dataset(ds, None, cache, progress=p), ds.title)
    return _with_progress(lambda progress: load_mnist(args.mnist_dir, args.cache_dir,
                                                      progress=progress))  # fmt: skip


def _dataset_source(args: argparse.Namespace, dataset: str) -> tuple[Dataset, Path, Path | None]:
    """(registry entry, download folder, folder to look in first) of `dataset` for the CLI's
    --cache-dir and --mnist-dir (MNIST's only; another dataset's is $NNP_<NAME>_DIR)."""
    from app.data.datasets import get_dataset
    from app.data.mnist import default_cache_dir

    ds = get_dataset(dataset)
    cache = ds.cache_in(args.cache_dir or default_cache_dir())
    return ds, cache, args.mnist_dir if dataset == "mnist" else None


def _load_test_set(
    args: argparse.Namespace, dataset: str = "mnist"
) -> tuple[np.ndarray, np.ndarray]:
    """Only MNIST's (or `dataset`'s) test split, from the same places as _load_mnist."""
    from app.data.mnist import load_dataset_test, load_mnist_test

    if dataset != "mnist":  # fashion (issue 17 §3)
        ds, _, cache = _dataset_source(args, dataset)
        return _with_progress(lambda p: load_dataset_test(ds, None, cache, progress=p), ds.title)

    return _with_progress(
        lambda progress: load_mnist_test(args.mnist_dir, args.cache_dir, progress=progress)
    )


def _with_progress(load: Callable[[Callable[[int, int], None]], T], title: str = "MNIST") -> T:
    """`load(progress)`, with a download progress bar; CLIError when MNIST is unavailable."""
    from app.data.mnist import MNISTUnavailable

    line = StatusLine()
    reported = [False]

    def on_progress(done: int, total: int) -> None:
        reported[0] = True
        line.update(f"downloading {title} {progress_bar(done, total)}", force=done >= total > 0)

    try:
        data = load(on_progress)
    except MNISTUnavailable as exc:
        raise CLIError(str(exc)) from None
    if reported[0]:
        line.done(f"downloaded {title}")
    return data


def _resolve_model_path(name: str) -> Path:
    """A shipped model's name, or a path to an .npz file."""
    from app.models import SHIPPED, shipped_model_path

    if name in SHIPPED:
        return shipped_model_path(name)
    path = Path(name)
    if not path.is_file():
        raise CLIError(
            f"no model file {name!r} (and no shipped model of that name: {', '.join(SHIPPED)})"
        )
    return path


def _load_model(name: str) -> tuple[Network, JSONObject]:
    from app.nn.serialize import ModelFileError, load_model

    path = _resolve_model_path(name)
    try:
        return load_model(path)
    except ModelFileError as exc:
        raise CLIError(f"{path}: {exc}") from None


def _print_json(obj: object, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(json.dumps(obj, allow_nan=False) + "\n")
    out.flush()


# ---- serve ----------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 and ::1 (with or without brackets) reach only this machine."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


def exposure_warning(host: str) -> str | None:
    """The one-line warning `serve` prints when it listens beyond this machine, else None."""
    if is_loopback(host):
        return None
    return (
        f"warning: serving on {host}, not loopback: anyone who can reach this address can "
        "control the server (train, upload, delete); NNP_ALLOWED_HOSTS lists the names they use"
    )


def link_host(host: str) -> str:
    """The address to put in the class links: for a wildcard bind (0.0.0.0, ::), this
    machine's address on its LAN (the one its default route uses; no packet is sent)."""
    name = host.strip()
    if name not in ("0.0.0.0", "::", "[::]", ""):
        return f"[{name}]" if ":" in name and not name.startswith("[") else name
    family = socket.AF_INET6 if ":" in name else socket.AF_INET
    probe = ("2001:db8::1", 1) if family == socket.AF_INET6 else ("192.0.2.1", 1)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(probe)
            address = str(sock.getsockname()[0])
    except OSError:
        return socket.gethostname()
    return f"[{address}]" if ":" in address else address


def class_links(settings: Settings, token: str) -> tuple[str, str]:
    """The learners' link and the teacher's (which carries the token once)."""
    base = f"http://{link_host(settings.host)}:{settings.port}"
    return f"{base}/", f"{base}/?teacher={token}"


def _start_class(settings: Settings) -> Settings:
    """Class mode: print the two links (the only place the teacher token is ever printed);
    the links' host is allowed as a Host header."""
    from app.main import class_teacher_token

    try:
        token = class_teacher_token(settings)
    except (ValueError, OSError) as exc:
        raise CLIError(f"class mode: {exc}") from None
    assert token is not None
    learners, teacher = class_links(settings, token)
    print(f"class mode: learners open {learners}", flush=True)
    print(f"class mode: the teacher opens {teacher} (keep it private)", flush=True)
    host = link_host(settings.host).strip("[]")
    return settings.model_copy(update={"allowed_hosts": [*settings.allowed_hosts, host]})


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the web app with uvicorn (Settings from NNP_* variables, overridden by options)."""
    from app.settings import Settings

    try:
        from app.main import create_app, serve
    except ImportError as exc:
        raise CLIError(f"the web server is not available: {exc}") from None
    given = {
        key: value
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("data_dir", args.data_dir),
            ("mnist_dir", args.mnist_dir),
            ("cache_dir", args.cache_dir),
            ("ray_address", args.ray),
            ("class_mode", args.class_mode or None),
        )
        if value is not None
    }
    settings = Settings(**given)
    if settings.executor == "ray" and importlib.util.find_spec("ray") is None:
        raise CLIError('the ray executor needs Ray: pip install "nn-playground[ray]"')
    if settings.class_mode:  # ownership protects the server: the two links, no warning
        settings = _start_class(settings)
    elif (warning := exposure_warning(settings.host)) is not None:
        print(warning, file=sys.stderr, flush=True)
    serve(create_app(settings), settings.host, settings.port)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a new bearer token (and the learner it acts as) from the server's database."""
    from app.main import DB_NAME
    from app.settings import Settings
    from app.store.db import Store
    from app.store.learners import Learners

    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    store = Store(settings.data_dir / DB_NAME)
    try:
        learners = Learners(store)
        learner = learners.get(args.learner) if args.learner else learners.create()
        if learner is None:
            raise CLIError(f"no learner with id {args.learner!r} in {settings.data_dir}")
        token = learners.new_token(learner.id)
    finally:
        store.close()
    print(f"token for {learner.name} ({learner.id}): send 'Authorization: Bearer <token>'",
          file=sys.stderr)  # fmt: skip
    print(token)
    return 0


# ---- download -------------------------------------------------------------------------------


def cmd_download(args: argparse.Namespace) -> int:
    """Make sure MNIST (or --dataset) is on disk and verified, downloading what is missing."""
    from app.data.mnist import MNISTUnavailable, download_dataset, find_dataset

    ds, cache_dir, directory = _dataset_source(args, args.dataset)
    found = find_dataset(ds, directory, cache_dir)
    if found is not None and found != cache_dir:
        # Verify it by loading: a corrupt file fails here rather than at training time.
        _load_mnist(args, args.dataset)
        print(f"{ds.title} is already in {found}")
        return 0
    line = StatusLine()

    def on_progress(done: int, total: int) -> None:
        line.update(f"downloading {ds.title} {progress_bar(done, total)}", force=done >= total > 0)

    try:
        target = download_dataset(ds, cache_dir, progress=on_progress)
    except MNISTUnavailable as exc:
        raise CLIError(str(exc)) from None
    line.done(f"{ds.title} verified in {target}")
    return 0


# ---- train ----------------------------------------------------------------------------------


def _parse_layers(text: str) -> list[int]:
    try:
        layers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 16,16, got {text!r}"
        ) from None
    if not layers:
        raise argparse.ArgumentTypeError("give at least one hidden layer size, e.g. 16,16")
    return layers


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _bounds_text(spec: ConfigField) -> str:
    """The Option's bounds as help text: "1..4096", "> 0, <= 1e+10", "items 1..1024"."""
    from app.nn.config import show

    opt = spec.option
    if opt.ge is not None and opt.le is not None:
        text = f"{show(opt.ge)}..{show(opt.le)}"
    else:
        marks = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        text = ", ".join(f"{mark} {show(opt.bounds()[key])}" for key, mark in marks
                         if key in opt.bounds())  # fmt: skip
    if spec.kind is list and text:
        text = f"{opt.min_items}-{opt.max_items} sizes, each {text}"
    return text


def _add_config_options(
    parser: argparse.ArgumentParser, config: type[TrainConfig] | None = None
) -> None:
    """One option per field of TrainConfig (app/nn/config.py; or of `config`, a subclass):
    name, type, choices, help and bounds from its declaration. Bounds are checked with the
    preset applied, by app.presets.validate_config (the API's check), so every default is
    None: "the preset's"."""
    from app.nn.config import TrainConfig, config_fields

    for spec in config_fields(config or TrainConfig):
        flag = "--" + spec.name.replace("_", "-")
        bounds = _bounds_text(spec)
        help_text = spec.option.help + (f" ({bounds})" if bounds else "")
        if spec.kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)  # fmt: skip
            continue
        kind: Callable[[str], object] = {list: _parse_layers, float: _finite_float}.get(
            spec.kind, spec.kind
        )
        parser.add_argument(flag, type=kind, choices=spec.option.choices, help=help_text)


class _TrainProgress:
    """Turns trainer events into the live status line and one line per epoch."""

    def __init__(self, epochs: int) -> None:
        self.line = StatusLine()
        self.epochs = epochs

    def __call__(self, event: TrainerEvent) -> None:
        from app.nn.protocol import EvaluationEvent, MetricsEvent

        if isinstance(event, MetricsEvent):
            self.line.update(
                f"epoch {event.epoch:5.2f}/{self.epochs}  cost {event.cost:.4f}  "
                f"batch accuracy {event.batch_accuracy:6.1%}  "
                f"{event.samples_per_second:>9,.0f} samples/s  eta {event.eta_seconds:4.0f}s"
            )
        elif isinstance(event, EvaluationEvent):
            val = (
                f"validation {event.validation_accuracy:.2%}  "
                if event.validation_accuracy is not None
                else ""
            )
            self.line.done(
                f"epoch {event.epoch}/{self.epochs}  {val}test {event.test_accuracy:.2%}"
            )


def _run_trainer(trainer: Trainer) -> str:
    """Run in a worker thread so Ctrl-C in the main thread can stop it cleanly."""
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            trainer.run()
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work, name="trainer", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        trainer.stop()
        worker.join()
        raise
    if outcome:
        raise outcome[0]
    return trainer.status


def _train_config(args: argparse.Namespace) -> tuple[str, TrainConfig]:
    """The preset's name and the config the options resolve to; CLIError for a bad option."""
    from app.nn.config import config_fields
    from app.presets import DEFAULT_PRESET, ConfigError, resolve_config

    overrides = {spec.name: getattr(args, spec.name) for spec in config_fields()}
    preset: str = args.preset or DEFAULT_PRESET
    try:
        config = resolve_config(preset, overrides)
    except ConfigError as exc:
        raise CLIError(f"invalid option {exc}", EXIT_USAGE) from None
    if config.data != "mnist" or config.from_model is not None:  # finetune (issue 17 §2)
        raise CLIError(
            "--data drawings/mix and --from-model use the server's drawings and models: "
            "start such a run with POST /api/runs (docs/api.md)",
            EXIT_USAGE,
        )
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise CLIError(f"--threads must be between 1 and 256, got {args.threads}", EXIT_USAGE)
    if args.save is not None and not args.save.parent.is_dir():
        raise CLIError(f"cannot save to {args.save}: folder {args.save.parent} does not exist")
    return preset, config


def _train_summary(trainer: Trainer, status: str, preset: str) -> JSONObject:
    """What `train --json` prints (and the model file records) about a finished training."""
    last = trainer.evaluations[-1] if trainer.evaluations else None
    # Throughput over the training proper: everything but the per-epoch evaluations.
    busy = max(trainer.seconds - trainer.eval_seconds, 1e-9)
    return {
        "status": status,
        "reason": trainer.reason,
        "preset": preset,
        "test_accuracy": last.test_accuracy if last else None,
        "validation_accuracy": last.validation_accuracy if last else None,
        "seconds": round(trainer.seconds, 3),
        "eval_seconds": round(trainer.eval_seconds, 3),
        "samples_per_second": round(trainer.samples_seen / busy, 1),
        "epochs": last.epoch if last else 0,
        "steps": trainer.step_count,
        "samples_seen": trainer.samples_seen,
        "parameters": trainer.network.num_parameters,
        "config": trainer.config.to_dict(),
        "saved": None,
    }


def _save_trained(path: Path, trainer: Trainer, summary: JSONObject) -> None:
    from app.nn.serialize import save_model, trained_metadata

    metadata = trained_metadata(
        summary["config"], summary["preset"], summary["epochs"], summary["test_accuracy"],
        validation_accuracy=summary["validation_accuracy"], seconds=summary["seconds"],
        created=utc_now(),
    )  # fmt: skip
    try:
        save_model(path, trainer.network, metadata)
    except OSError as exc:
        raise CLIError(f"cannot save to {path}: {exc.strerror or exc}") from None
    summary["saved"] = str(path)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a network on MNIST; print progress, a summary, and optionally save it."""
    from app.nn import set_blas_threads
    from app.nn.trainer import Trainer

    preset, config = _train_config(args)
    data = _load_mnist(args, config.dataset)
    # One BLAS thread by default: on a shared CPU (or beside the augmentation thread) a
    # multithreaded BLAS waits for descheduled threads; measured here, an accurate-preset epoch
    # took 10-30 s with 2 threads and 1.4-6 s with 1, while an idle machine gains ~15% from 2.
    set_blas_threads(args.threads or 1)
    trainer = Trainer(config, data, on_event=_TrainProgress(config.epochs))
    status = _run_trainer(trainer)
    summary = _train_summary(trainer, status, preset)
    if status == "finished" and args.save is not None:
        _save_trained(args.save, trainer, summary)

    accuracy = f"{summary['test_accuracy']:.2%}" if trainer.evaluations else "n/a"
    print(
        f"{status}: test accuracy {accuracy} after {summary['epochs']} epoch(s), "
        f"{summary['seconds']:.1f} s, {summary['samples_per_second']:,.0f} samples/s"
        + (f", saved to {args.save}" if summary["saved"] else ""),
        file=sys.stderr if args.json else sys.stdout,
    )
    if args.json:
        _print_json(summary)
    if status != "finished":
        print(f"error: training {status}: {trainer.reason}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


# ---- evaluate -------------------------------------------------------------------------------


def format_confusion(confusion: np.ndarray) -> str:
    """The 10x10 matrix as text: rows = true digit, columns = predicted."""
    header = "true\\pred " + "".join(f"{d:>6}" for d in range(confusion.shape[1]))
    rows = [f"{label:>9} " + "".join(f"{n:>6}" for n in row) for label, row in enumerate(confusion)]
    return "\n".join([header, *rows])


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Test-set accuracy and confusion matrix of a saved or shipped model."""
    from app.data.deslant import expects_deslant, transform_batch
    from app.data.strokes import expects_strokes
    from app.nn.serialize import model_classes
    from app.nn.trainer import confusion_matrix, evaluate, to_inputs

    network, metadata = _load_model(args.model)
    dataset, _ = model_classes(metadata)  # fashion: a model is evaluated on its own dataset
    images, labels = _load_test_set(args, dataset)
    transforms = (expects_deslant(metadata), expects_strokes(metadata))
    x = to_inputs(transform_batch(images, *transforms) if any(transforms) else images)
    y = labels.astype(np.int64)
    predictions, _ = evaluate(network, x, y)
    accuracy = float(np.mean(predictions == y))
    confusion = confusion_matrix(y, predictions)
    if args.json:
        _print_json({"model": args.model, "accuracy": accuracy, "confusion": confusion.tolist()})
    else:
        print(f"{args.model}: test accuracy {accuracy:.2%} ({int(np.sum(predictions == y))}"
              f"/{len(y)})")  # fmt: skip
        print(format_confusion(confusion))
    return 0


# ---- predict --------------------------------------------------------------------------------


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify image files; a file that cannot be read or has no drawing gets an error line
    and makes the exit status non-zero, the others are still classified."""
    from app.data.deslant import expects_deslant, model_input
    from app.data.preprocess import EmptyDrawingError, ImageInputError, image_to_input
    from app.data.strokes import expects_strokes

    network, metadata = _load_model(args.model)
    failed = False
    for name in args.images:
        try:
            x = model_input(
                image_to_input(Path(name).read_bytes()),
                expects_deslant(metadata),
                expects_strokes(metadata),
            )
        except OSError as exc:
            print(f"error: {name}: {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        except (ImageInputError, EmptyDrawingError) as exc:
            print(f"error: {name}: {' '.join(str(exc).split())}", file=sys.stderr)
            failed = True
            continue
        probabilities = network.predict_proba(x[None, :])[0]
        digit = int(np.argmax(probabilities))
        if args.json:
            rounded = [round(float(p), 6) for p in probabilities]
            _print_json({"file": name, "digit": digit, "probabilities": rounded})
        else:
            print(f"{name}: {digit} ({probabilities[digit]:.1%})")
    return EXIT_FAILURE if failed else 0


# ---- export ---------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """Write a model as ONNX, plain JSON or a Markdown model card (app/nn/export.py): to -o FILE,
    to stdout with -o -, else to <model><suffix> (accurate.onnx) in the current folder."""
    from app.fileio import write_atomic
    from app.models import SHIPPED
    from app.nn.export import OnnxUnavailable, export_network

    network, metadata = _load_model(args.model)
    stem = args.model if args.model in SHIPPED else Path(args.model).stem
    name = metadata.get("name")
    try:
        exported = export_network(
            network, metadata, args.format, stem=stem, name=name if isinstance(name, str) else stem
        )
    except OnnxUnavailable as exc:
        raise CLIError(str(exc)) from None
    if args.output == Path("-"):
        sys.stdout.buffer.write(exported.data)
        sys.stdout.flush()
        return 0
    target: Path = args.output or Path(exported.filename)
    if not target.parent.is_dir():
        raise CLIError(f"cannot write {target}: folder {target.parent} does not exist")
    try:
        write_atomic(target, exported.data)
    except OSError as exc:
        raise CLIError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"wrote {target} ({args.format}, {len(exported.data):,} bytes)")
    return 0


# ---- argument parsing -----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus the usage hint argparse always adds)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mnist-dir", type=Path, help="a folder holding the MNIST files (default $NNP_MNIST_DIR)"
    )
    parser.add_argument("--cache-dir", type=Path, help="where downloaded MNIST is kept")


def _add_export_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    from app.nn.export import EXPORT_FORMATS

    export = sub.add_parser("export", help="write a model as ONNX, plain JSON or a model card")
    export.add_argument("model", help="a .npz path or a shipped model name (3b1b, accurate)")
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="onnx",
        help="onnx (needs the [export] extra), json (weights and biases), card (Markdown)",
    )
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write it; - for stdout (default: <model>.onnx, .json or -card.md here)",
    )
    export.set_defaults(func=cmd_export)


def _add_class_options(
    serve: argparse.ArgumentParser, sub: argparse._SubParsersAction[_Parser]
) -> None:
    """`serve --class` and `token` (issue 16)."""
    serve.add_argument(
        "--class",
        dest="class_mode",
        action="store_true",
        help="class mode: every browser is a learner owning their runs and models; prints "
        "the learners' and the teacher's links (default $NNP_CLASS)",
    )
    token = sub.add_parser("token", help="make a bearer token for API clients (class mode)")
    token.add_argument("--data-dir", type=Path, help="the server's data dir")
    token.add_argument(
        "--learner", metavar="ID", help="for this learner id (default: a new learner)"
    )
    token.set_defaults(func=cmd_token)


def build_parser() -> argparse.ArgumentParser:
    from app.nn.vocab import DATASET_NAMES
    from app.presets import PRESETS

    parser = _Parser(prog="nn-playground", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    serve = sub.add_parser("serve", help="start the web app (the default)")
    serve.add_argument("--host", help="address to listen on (default $NNP_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (default $NNP_PORT or 8000)")
    serve.add_argument("--data-dir", type=Path, help="where runs and saved models are kept")
    serve.add_argument(
        "--ray",
        metavar="HOST:PORT",
        help="train runs on the Ray cluster whose head is here (default $NNP_RAY_ADDRESS; "
        "none: worker processes on this machine)",
    )
    _add_class_options(serve, sub)
    _add_data_options(serve)
    serve.set_defaults(func=cmd_serve)

    download = sub.add_parser("download", help="fetch and verify MNIST (or --dataset)")
    _add_data_options(download)
    download.add_argument(
        "--dataset", choices=DATASET_NAMES, default="mnist", help="which dataset (default mnist)"
    )
    download.set_defaults(func=cmd_download)

    train = sub.add_parser("train", help="train a network on MNIST")
    train.add_argument("--preset", choices=list(PRESETS), help="recipe to start from (3b1b)")
    _add_config_options(train)
    train.add_argument(
        "--threads",
        type=int,
        help="threads for matrix products (default 1: more only pay off on an idle machine)",
    )
    train.add_argument("--save", type=Path, metavar="PATH", help="write the model (.npz)")
    train.add_argument("--json", action="store_true", help="end with a JSON summary on stdout")
    _add_data_options(train)
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="test accuracy and confusion matrix of a model")
    evaluate.add_argument("model", help="a .npz path or a shipped model name (3b1b, accurate)")
    evaluate.add_argument("--json", action="store_true")
    _add_data_options(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="classify drawings (PNG, JPEG, WebP)")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", default="accurate", help="a .npz path or shipped model name")
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    predict.set_defaults(func=cmd_predict)

    _add_export_parser(sub)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `nn-playground` alone, or with only serve options, means `serve`.
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "serve")
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # usage error (already printed) or --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `nn-playground predict *.png | head -1`
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
