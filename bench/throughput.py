"""Training throughput (samples/s): our NumPy network vs. a per-sample reference and PyTorch CPU.

    python bench/throughput.py            # ~1-2 minutes
    python bench/throughput.py --quick    # ~20 seconds
    python bench/throughput.py --threads 2  # NumPy's BLAS and PyTorch with 2 threads each

For each configuration every implementation trains on the same mini-batches (MNIST from
$NNP_MNIST_DIR or ../shared/datasets/mnist when available, else random data of the same shape:
throughput does not depend on the values). Batches are contiguous slices of a copy of the
training set shuffled once, so what is timed is the training step itself, i.e. forward pass,
backprop, cost, batch accuracy and the parameter update.

The CPU may be shared: every implementation is measured in several short rounds, interleaved,
and the best round is reported (the least disturbed one); the ratios compare the best rounds.

References:
- "per-sample": the straightforward loop of Nielsen's network.py, written here from the maths:
  backprop one column-vector sample at a time, float64, gradients summed over the mini-batch.
- "pytorch": an equivalent nn.Sequential + the same optimiser and cost, default settings
  apart from the thread count, when `import torch` works.

Threads: one for NumPy's OpenBLAS and one for PyTorch unless --threads says otherwise. The app
trains with one BLAS thread everywhere (CLI, run workers, server), and on this 2-core machine
PyTorch's default 2-thread pool next to NumPy's measured 20-300x *slower* than with 1 thread
at batch 32 (its threads wait for a busy core), which would flatter the ratio.

Bars (issue 20): the 3b1b network at batch 32 with Adam at >= 450,000 samples/s and >= 5x
PyTorch CPU in the same run; the last lines say whether this run met them.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.nn import Network, make_optimizer, set_blas_threads  # noqa: E402


@dataclass
class Case:
    label: str
    sizes: list[int]
    activation: str
    cost: str
    optimizer: str
    learning_rate: float
    batch: int


CASES = [
    Case("3b1b", [784, 16, 16, 10], "sigmoid", "quadratic", "adam", 1e-3, 10),
    Case("3b1b", [784, 16, 16, 10], "sigmoid", "quadratic", "adam", 1e-3, 32),
    Case("3b1b", [784, 16, 16, 10], "sigmoid", "quadratic", "sgd", 3.0, 32),
    Case("3b1b", [784, 16, 16, 10], "sigmoid", "quadratic", "adam", 1e-3, 128),
    Case("large", [784, 256, 128, 10], "relu", "cross_entropy", "adam", 1e-3, 128),
]


# ----------------------------------------------------------------------------------- data


def load_data(mnist_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(x (N, 784) float32 in 0..1, labels (N,) uint8, description), shuffled once."""
    rng = np.random.default_rng(0)
    try:
        from app.data.mnist import load_mnist

        folder = (
            mnist_dir or os.environ.get("NNP_MNIST_DIR") or REPO.parent / "shared/datasets/mnist"
        )
        mnist = load_mnist(Path(folder), download=False)
        x = mnist.train_images.reshape(-1, 784).astype(np.float32) / 255.0
        y = np.asarray(mnist.train_labels, dtype=np.uint8)
        source = f"MNIST training set ({len(x)} images)"
    except Exception as exc:  # any reason at all: random data times the same
        x = rng.random((60_000, 784), dtype=np.float32)
        y = rng.integers(0, 10, 60_000).astype(np.uint8)
        source = f"random data (MNIST unavailable: {type(exc).__name__}: {exc})"
    order = rng.permutation(len(x))
    return np.ascontiguousarray(x[order]), y[order], source


# ------------------------------------------------------------------------------ trainers
# Each maker returns step(start) -> None, training on the batch x[start:start+B].

StepFn = Callable[[int], None]


def make_ours(case: Case, x: np.ndarray, y: np.ndarray) -> StepFn:
    net = Network(case.sizes, case.activation, case.cost, seed=0)
    opt = make_optimizer(case.optimizer, case.learning_rate)
    b = case.batch

    def step(start: int) -> None:
        net.train_step(x[start : start + b], y[start : start + b], opt)

    return step


class PerSampleReference:
    """Nielsen-style network: column vectors, one sample at a time, float64."""

    def __init__(self, case: Case, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.case = case
        pairs = list(zip(case.sizes[1:], case.sizes[:-1], strict=True))
        self.weights = [rng.standard_normal((n, m)) / np.sqrt(m) for n, m in pairs]
        self.biases = [np.zeros((n, 1)) for n, _ in pairs]
        self.moments = [[np.zeros_like(p) for p in self.weights + self.biases] for _ in range(2)]
        self.t = 0

    def hidden(self, z: np.ndarray) -> np.ndarray:
        if self.case.activation == "relu":
            return np.maximum(z, 0)
        return 1 / (1 + np.exp(-z))

    def hidden_prime(self, z: np.ndarray) -> np.ndarray:
        if self.case.activation == "relu":
            return (z > 0).astype(z.dtype)
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)

    def backprop(self, x: np.ndarray, label: int) -> tuple[list, list, float]:
        """Gradients of one sample's cost, as in Nielsen's network.py."""
        activation, activations, zs = x, [x], []
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = w @ activation + b
            zs.append(z)
            if i < len(self.weights) - 1:
                activation = self.hidden(z)
            elif self.case.cost == "quadratic":
                activation = 1 / (1 + np.exp(-z))
            else:
                e = np.exp(z - z.max())
                activation = e / e.sum()
            activations.append(activation)
        y = np.zeros((self.case.sizes[-1], 1))
        y[label] = 1.0
        out = activations[-1]
        if self.case.cost == "quadratic":
            cost = 0.5 * float(np.sum((out - y) ** 2))
            delta = (out - y) * out * (1 - out)
        else:
            cost = -math.log(float(out[label, 0]))
            delta = out - y
        nabla_w = [np.zeros_like(w) for w in self.weights]
        nabla_b = [np.zeros_like(b) for b in self.biases]
        nabla_w[-1], nabla_b[-1] = delta @ activations[-2].T, delta
        for layer in range(2, len(self.weights) + 1):
            delta = (self.weights[-layer + 1].T @ delta) * self.hidden_prime(zs[-layer])
            nabla_w[-layer], nabla_b[-layer] = delta @ activations[-layer - 1].T, delta
        return nabla_w, nabla_b, cost

    def train_batch(self, xs: np.ndarray, labels: np.ndarray) -> None:
        sum_w = [np.zeros_like(w) for w in self.weights]
        sum_b = [np.zeros_like(b) for b in self.biases]
        for x, label in zip(xs, labels, strict=True):
            nabla_w, nabla_b, _ = self.backprop(x.reshape(-1, 1).astype(np.float64), int(label))
            sum_w = [s + n for s, n in zip(sum_w, nabla_w, strict=True)]
            sum_b = [s + n for s, n in zip(sum_b, nabla_b, strict=True)]
        grads = [g / len(xs) for g in sum_w + sum_b]
        params = self.weights + self.biases
        lr = self.case.learning_rate
        if self.case.optimizer == "sgd":
            for p, g in zip(params, grads, strict=True):
                p -= lr * g
            return
        self.t += 1
        for p, g, m, v in zip(params, grads, *self.moments, strict=True):
            m[...] = 0.9 * m + 0.1 * g
            v[...] = 0.999 * v + 0.001 * g * g
            m_hat, v_hat = m / (1 - 0.9**self.t), v / (1 - 0.999**self.t)
            p -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)


def make_reference(case: Case, x: np.ndarray, y: np.ndarray) -> StepFn:
    ref, b = PerSampleReference(case), case.batch

    def step(start: int) -> None:
        ref.train_batch(x[start : start + b], y[start : start + b])

    return step


def make_torch(case: Case, x: np.ndarray, y: np.ndarray) -> StepFn:
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    pairs = list(zip(case.sizes[:-1], case.sizes[1:], strict=True))
    for i, (n_in, n_out) in enumerate(pairs):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(pairs) - 1:
            layers.append(nn.ReLU() if case.activation == "relu" else nn.Sigmoid())
        elif case.cost == "quadratic":
            layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    if case.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=case.learning_rate)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=case.learning_rate)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    eye = torch.eye(case.sizes[-1])
    cross_entropy = nn.CrossEntropyLoss()
    b = case.batch

    def step(start: int) -> None:
        xb, yb = xt[start : start + b], yt[start : start + b]
        opt.zero_grad(set_to_none=True)
        out = model(xb)
        if case.cost == "quadratic":
            loss = 0.5 * ((out - eye[yb]) ** 2).sum(dim=1).mean()
        else:
            loss = cross_entropy(out, yb)
        loss.backward()
        opt.step()
        # The same outputs our train_step returns: the cost and the number correct.
        loss.item()
        int((out.argmax(dim=1) == yb).sum())

    return step


# ------------------------------------------------------------------------------- timing


CLOCK = time.perf_counter  # wall time; --cpu-time switches to process CPU time


def time_round(step: StepFn, n: int, batch: int, seconds: float, offset: int) -> float:
    """Samples/s of `step` over about `seconds`, walking through the data from `offset`."""
    steps_per_pass = (n - batch) // batch
    done, start, began = 0, offset % (steps_per_pass * batch), CLOCK()
    while True:
        for _ in range(8):  # check the clock every few steps only
            step(start)
            start = start + batch if start + 2 * batch <= n else 0
            done += 1
        elapsed = CLOCK() - began
        if elapsed >= seconds or done >= steps_per_pass * 4:
            return done * batch / elapsed


def measure(
    makers: dict[str, Callable[[Case, np.ndarray, np.ndarray], StepFn]],
    case: Case,
    x: np.ndarray,
    y: np.ndarray,
    rounds: int,
    seconds: dict[str, float],
) -> dict[str, float]:
    """Best samples/s per implementation over `rounds` interleaved rounds."""
    steps = {name: make(case, x, y) for name, make in makers.items()}
    for step in steps.values():  # warm up: first-call allocations, caches, JIT paths
        for i in range(3):
            step(i * case.batch)
    best = dict.fromkeys(steps, 0.0)
    for r in range(rounds):
        for name, step in steps.items():
            rate = time_round(step, len(x), case.batch, seconds[name], r * 997 * case.batch)
            best[name] = max(best[name], rate)
    return best


def load_average() -> str:
    """The 1-minute load average and the CPU count, e.g. "0.52 on 2 CPUs"."""
    try:
        return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    except OSError:  # not available on this platform
        return "unknown"


def blas_info() -> str:
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{config.get('name')} {config.get('version')}"
    except Exception:  # informational only
        return "unknown BLAS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short rounds (~20 s in all)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per implementation")
    parser.add_argument("--mnist-dir", help="folder with the MNIST files")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--no-reference", action="store_true", help="skip the per-sample loop")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="NumPy's OpenBLAS and PyTorch use this many threads (default 1, as the app trains)",
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="samples per CPU-second of this process (all its threads) instead of per wall-clock "
        "second: steadier when other processes share the CPU",
    )
    args = parser.parse_args(argv)
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if not set_blas_threads(args.threads):
        print("note: could not set the OpenBLAS thread count", file=sys.stderr)

    rounds = args.rounds or (2 if args.quick else 5)
    seconds = {"ours": 0.5, "per-sample": 0.5, "pytorch": 0.5}
    if args.quick:
        seconds = {"ours": 0.25, "per-sample": 0.25, "pytorch": 0.25}

    makers: dict[str, Callable[[Case, np.ndarray, np.ndarray], StepFn]] = {"ours": make_ours}
    if not args.no_reference:
        makers["per-sample"] = make_reference
    torch_version = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
            torch_version = f"{torch.__version__}, {torch.get_num_threads()} threads"
            makers["pytorch"] = make_torch
        except ImportError:
            pass

    x, y, source = load_data(args.mnist_dir)
    print(f"data: {source}")
    print(f"numpy {np.__version__} ({blas_info()}, {args.threads} thread(s))", end="")
    print(f", {os.cpu_count()} CPUs", end="")
    print(f"; pytorch {torch_version}" if torch_version else "; pytorch not installed")
    unit = "samples per CPU-second" if args.cpu_time else "samples/s"
    print(f"best of {rounds} interleaved rounds; {unit} (higher is better)")
    print(f"load average at the start: {load_average()} (other work on the machine moves these)\n")

    header = f"{'network':28s} {'opt':>4s} {'batch':>5s} {'ours':>10s}"
    for name in makers:
        if name != "ours":
            header += f" {name:>10s} {'ratio':>6s}"
    print(header)
    print("-" * len(header))
    bar_row: dict[str, float] = {}
    for case in CASES:
        result = measure(makers, case, x, y, rounds, seconds)
        if (case.label, case.optimizer, case.batch) == BAR_CASE:
            bar_row = result
        net = f"{case.label} {'-'.join(map(str, case.sizes))} {case.activation}"
        line = f"{net:28s} {case.optimizer:>4s} {case.batch:5d} {result['ours']:10,.0f}"
        for name in makers:
            if name != "ours":
                ratio = result["ours"] / result[name]
                line += f" {result[name]:10,.0f} {ratio:5.1f}x"
        print(line, flush=True)
    print("\nratio = ours / that implementation, from the best rounds of the same run")
    print(f"load average at the end: {load_average()}")
    print_bars(bar_row)
    return 0


BAR_CASE = ("3b1b", "adam", 32)
BAR_SAMPLES, BAR_RATIO = 450_000, 5.0


def print_bars(result: dict[str, float]) -> None:
    """Whether the 3b1b Adam batch-32 row met issue 20's bars in this run."""
    if not result:
        return
    ours = result["ours"]
    print(f"bars, 3b1b adam batch 32: {ours:,.0f} samples/s", end="")
    print(f" ({'met' if ours >= BAR_SAMPLES else 'NOT met'}: >= {BAR_SAMPLES:,})", end="")
    if "pytorch" in result:
        ratio = ours / result["pytorch"]
        print(f"; {ratio:.1f}x PyTorch ({'met' if ratio >= BAR_RATIO else 'NOT met'}: >= 5x)")
    else:
        print("; PyTorch not measured")


if __name__ == "__main__":
    raise SystemExit(main())
