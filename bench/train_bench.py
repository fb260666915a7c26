"""Time to accuracy: how long training takes to reach 95% / 97% / 98.5% MNIST test accuracy.

    python bench/train_bench.py                 # ~5-8 minutes (--budget 60 s per row)
    python bench/train_bench.py --quick         # smoke run, ~1 minute
    python bench/train_bench.py --budget 120 --threads 2

Rows, all in the same run so the ratios hold on any machine:
- ours: the `accurate` and `3b1b` presets through app.nn.trainer.Trainer, exactly as
  `nn-playground train --preset NAME` trains them.
- pytorch (when importable): the same architecture and recipe (optimiser, learning-rate
  schedule, batch size, L2, and the same augmented batches from the same producer thread).
- per-sample: the Nielsen network.py-style loop from bench/throughput.py (one column-vector
  sample at a time, float64). For 3b1b it runs Nielsen's own recipe (SGD, η = 3.0, batch 10);
  for the accurate architecture Adam with our one-cycle schedule, without augmentation (which
  would only slow its start).

The clock counts training only: test-set evaluations (after every epoch for ours and PyTorch,
every half epoch for the slow per-sample loop) are excluded, and so is data loading. Every row
stops at the preset's epochs or when its --budget of training seconds is spent, whichever is
first; "-" means the accuracy was not reached. Then, if bench/throughput.py is present, its
samples/s table follows (--no-throughput skips it).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from app.data.mnist import MNIST, load_mnist  # noqa: E402
from app.nn import set_blas_threads  # noqa: E402
from app.nn.trainer import (  # noqa: E402
    BatchProducer,
    EvaluationEvent,
    TrainConfig,
    Trainer,
    augment_options,
    prepare_data,
    scheduled_learning_rate,
)
from app.presets import preset_config  # noqa: E402

THRESHOLDS = (0.95, 0.97, 0.985)


@dataclass
class Curve:
    """Test accuracy against training seconds for one row of the table."""

    label: str
    points: list[tuple[float, float]] = field(default_factory=list)  # (seconds, accuracy)
    note: str = ""

    def time_to(self, accuracy: float) -> float | None:
        return next((t for t, a in self.points if a >= accuracy), None)

    @property
    def final(self) -> float:
        return self.points[-1][1] if self.points else float("nan")

    @property
    def seconds(self) -> float:
        return self.points[-1][0] if self.points else 0.0


# ---- ours -----------------------------------------------------------------------------------


def run_ours(label: str, config: TrainConfig, data: MNIST, budget: float) -> Curve:
    curve = Curve(label)
    trainer: Trainer

    def on_event(event: object) -> None:
        if isinstance(event, EvaluationEvent):
            # eval_seconds already includes this evaluation: it is added before the event.
            elapsed = time.perf_counter() - began - trainer.eval_seconds
            curve.points.append((elapsed, event.test_accuracy))
            if elapsed > budget:
                trainer.stop()

    trainer = Trainer(config, data, on_event=on_event)
    began = time.perf_counter()
    trainer.run()
    curve.note = f"{trainer.samples_seen / max(curve.seconds, 1e-9):,.0f} samples/s"
    return curve


# ---- references -----------------------------------------------------------------------------

Step = Callable[[np.ndarray, np.ndarray, float], None]  # (x, y, learning rate)
Predict = Callable[[np.ndarray], np.ndarray]  # x (N, 784) -> labels (N,)


def run_reference(
    label: str,
    step: Step,
    predict: Predict,
    batches: Iterator[tuple[np.ndarray, np.ndarray]],
    config: TrainConfig,
    steps_per_epoch: int,
    evals_per_epoch: int,
    test: tuple[np.ndarray, np.ndarray],
    budget: float,
) -> Curve:
    """Train with `step` on `batches`, evaluating `evals_per_epoch` times an epoch."""
    curve = Curve(label)
    total = steps_per_epoch * config.epochs
    eval_every = max(1, steps_per_epoch // evals_per_epoch)
    trained = 0.0
    began = time.perf_counter()
    for done in range(1, total + 1):
        x, y = next(batches)
        lr = scheduled_learning_rate(config.lr_schedule, config.learning_rate, done - 1, total)
        step(x, y, lr)
        if done % eval_every == 0 or done == total:
            trained += time.perf_counter() - began
            accuracy = float(np.mean(predict(test[0]) == test[1]))
            curve.points.append((trained, accuracy))
            if trained > budget:
                break
            began = time.perf_counter()
    curve.note = f"{done * config.batch_size / max(trained, 1e-9):,.0f} samples/s"
    return curve


def torch_model(config: TrainConfig):  # -> (model, step, predict)
    import torch
    from torch import nn

    torch.manual_seed(config.seed)
    sizes = config.sizes()
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(
                {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[config.activation]()
            )
        elif config.cost == "quadratic":
            layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    if config.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.l2)
    else:
        momentum = config.momentum if config.optimizer == "momentum" else 0.0
        opt = torch.optim.SGD(
            model.parameters(), lr=config.learning_rate, momentum=momentum, weight_decay=config.l2
        )
    eye = torch.eye(10)
    cross_entropy = nn.CrossEntropyLoss()

    def step(x: np.ndarray, y: np.ndarray, lr: float) -> None:
        for group in opt.param_groups:
            group["lr"] = lr
        xb, yb = torch.from_numpy(x), torch.from_numpy(y)
        opt.zero_grad(set_to_none=True)
        out = model(xb)
        if config.cost == "quadratic":
            loss = 0.5 * ((out - eye[yb]) ** 2).sum(dim=1).mean()
        else:
            loss = cross_entropy(out, yb)
        loss.backward()
        opt.step()

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            # np.array: torch warns about wrapping the read-only shared test set.
            return model(torch.from_numpy(np.array(x))).argmax(dim=1).numpy()

    return step, predict


def per_sample_model(config: TrainConfig):  # -> (step, predict)
    from throughput import Case, PerSampleReference

    case = Case(
        "ref",
        config.sizes(),
        config.activation,
        config.cost,
        "sgd" if config.optimizer == "sgd" else "adam",
        config.learning_rate,
        config.batch_size,
    )
    ref = PerSampleReference(case, seed=config.seed)

    def step(x: np.ndarray, y: np.ndarray, lr: float) -> None:
        case.learning_rate = lr  # train_batch reads it at every update
        ref.train_batch(x, y)

    def predict(x: np.ndarray) -> np.ndarray:
        a = x.T.astype(np.float64)
        for w, b in zip(ref.weights[:-1], ref.biases[:-1], strict=True):
            a = ref.hidden(w @ a + b)
        return np.argmax(ref.weights[-1] @ a + ref.biases[-1], axis=0)

    return step, predict


def reference_row(
    label: str,
    kind: str,
    config: TrainConfig,
    data: MNIST,
    budget: float,
    evals_per_epoch: int,
) -> Curve:
    prepared = prepare_data(data)
    n_train = len(prepared.train_pixels) - config.validation_size
    pixels, labels = prepared.train_pixels[:n_train], prepared.train_y[:n_train]
    test = (prepared.test_x, prepared.test_y)
    step, predict = torch_model(config) if kind == "pytorch" else per_sample_model(config)
    augment = augment_options(config.augment_strength) if config.augment else None
    producer = BatchProducer(pixels, labels, config.batch_size, config.epochs, config.seed, augment)
    steps_per_epoch = -(-n_train // config.batch_size)
    try:
        return run_reference(
            label, step, predict, iter(producer), config, steps_per_epoch, evals_per_epoch,
            test, budget,
        )  # fmt: skip
    finally:
        producer.close()


# ---- report ---------------------------------------------------------------------------------


def print_table(curves: list[Curve]) -> None:
    head = f"{'run':58s}" + "".join(f"{f'to {t:.1%}':>10s}" for t in THRESHOLDS)
    head += f"{'final':>8s}{'trained':>9s}  speed"
    print(head)
    print("-" * (len(head) + 14))
    for c in curves:
        cells = "".join(
            f"{(f'{t:.1f} s' if (t := c.time_to(th)) is not None else '-'):>10s}"
            for th in THRESHOLDS
        )
        print(f"{c.label:58s}{cells}{c.final:8.2%}{c.seconds:8.1f}s  {c.note}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per row")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, 8 s budget")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (1)")
    parser.add_argument("--mnist-dir", type=Path, help="folder with the MNIST files")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-reference", action="store_true", help="skip the per-sample loop")
    parser.add_argument("--no-throughput", action="store_true", help="skip throughput.py")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    budget = 8.0 if args.quick else args.budget
    set_blas_threads(args.threads)

    torch_note = "not installed"
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
            torch_note = f"{torch.__version__}, {torch.get_num_threads()} thread(s)"
        except ImportError:
            args.no_torch = True

    data = load_mnist(args.mnist_dir, download=False)
    print(f"numpy {np.__version__}, {args.threads} BLAS thread(s); pytorch {torch_note}; "
          f"{os.cpu_count()} CPUs; budget {budget:g} s of training per row\n")  # fmt: skip

    def preset(name: str, **changes: object) -> TrainConfig:
        config = preset_config(name)
        if args.quick:
            changes.setdefault("epochs", 2)
        return dataclasses.replace(config, **changes)

    accurate, video = preset("accurate"), preset("3b1b")
    nielsen = preset("3b1b", optimizer="sgd", learning_rate=3.0, batch_size=10, l2=0.0,
                     lr_schedule="constant", epochs=30 if not args.quick else 1)  # fmt: skip
    curves: list[Curve] = []

    def add(curve: Curve) -> None:
        curves.append(curve)
        print(f"  done: {curve.label} ({curve.seconds:.1f} s, final {curve.final:.2%})",
              file=sys.stderr, flush=True)  # fmt: skip

    sizes = "-".join(map(str, accurate.sizes()))
    add(run_ours(f"ours      accurate {sizes} relu, adam 1cycle, aug", accurate, data, budget))
    if not args.no_torch:
        add(reference_row(f"pytorch   accurate {sizes}, same recipe + aug", "pytorch",
                          accurate, data, budget, 1))  # fmt: skip
    if not args.no_reference:
        plain = dataclasses.replace(accurate, augment=False)
        add(reference_row(f"per-sample accurate {sizes}, adam 1cycle, no aug", "per-sample",
                          plain, data, budget, 8))  # fmt: skip
    add(run_ours("ours      3b1b 784-16-16-10 sigmoid, momentum cosine", video, data, budget))
    if not args.no_torch:
        add(reference_row("pytorch   3b1b 784-16-16-10, same recipe", "pytorch",
                          video, data, budget, 1))  # fmt: skip
    if not args.no_reference:
        add(reference_row("per-sample 3b1b 784-16-16-10, Nielsen SGD eta=3 batch 10",
                          "per-sample", nielsen, data, budget, 2))  # fmt: skip

    print()
    print_table(curves)
    print("\ntimes are training seconds (evaluation and data loading excluded)")

    if not args.no_throughput and (REPO / "bench" / "throughput.py").exists():
        import throughput

        print("\n" + "=" * 30 + " throughput (bench/throughput.py) " + "=" * 30)
        extra = ["--quick"] if args.quick else []
        extra += ["--threads", str(args.threads)]
        extra += ["--no-torch"] if args.no_torch else []
        extra += ["--no-reference"] if args.no_reference else []
        throughput.main(extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
