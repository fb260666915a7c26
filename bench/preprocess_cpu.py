"""CPU time of one `image_to_input_with_note` call on the page's drawing, A/B in one process.

The drawing is bench/load_predict.py's `digit_png()` (an MNIST test digit on a 280×280 canvas,
as the page sends it). Each checkout's app/data/preprocess.py is loaded as its own module, and
the calls are interleaved in rounds (CPU time of this thread, so other processes' load counts
less than in wall time). With no --against it times this checkout alone.

    python bench/preprocess_cpu.py                                  # this checkout
    python bench/preprocess_cpu.py --against /work/main --rounds 30 # main next to this one
    python bench/preprocess_cpu.py --against /work/main --png drawing.png   # the page's PNG
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from load_predict import digit_png  # noqa: E402


def load_preprocess(checkout: Path, name: str) -> ModuleType:
    """A checkout's app/data/preprocess.py as a module of its own (it imports only NumPy and
    Pillow, so nothing else of that checkout is needed)."""
    spec = importlib.util.spec_from_file_location(name, checkout / "app/data/preprocess.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, action="append", default=[], help="other checkouts")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--calls", type=int, default=100, help="calls per round")
    ap.add_argument("--png", type=Path, help="time this PNG instead (e.g. one the page sent)")
    args = ap.parse_args()
    data = args.png.read_bytes() if args.png else digit_png()
    checkouts = [*args.against, REPO]
    calls: dict[str, Callable[[bytes], object]] = {}
    inputs = {}
    for number, checkout in enumerate(checkouts):
        module = load_preprocess(checkout, f"preprocess_{number}")
        calls[str(checkout)] = module.image_to_input_with_note
        inputs[str(checkout)] = module.image_to_input_with_note(data)[0]
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(3):  # warm up
        for call in calls.values():
            call(data)
    for _ in range(args.rounds):
        for name, call in calls.items():
            started = time.thread_time_ns()
            for _ in range(args.calls):
                call(data)
            times[name].append((time.thread_time_ns() - started) / args.calls / 1000)
    reference = inputs[str(REPO)]
    what = args.png or "digit_png()"
    print(f"image_to_input_with_note on {what} ({len(data):,} B), CPU µs per call:")
    for name, spent in times.items():
        diff = float(np.abs(inputs[name] - reference).max())
        print(
            f"  {name}: least {min(spent):.0f}, median {statistics.median(spent):.0f} "
            f"(input max |diff| from this checkout's: {diff:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
