"""Issue 17 §2's bar: fine-tuning the shipped `accurate` model on 100 drawings of one synthetic
style raises the accuracy on the held-out drawings of that style by ≥ 10 points, and MNIST test
accuracy drops by ≤ 0.5 points.

Through a real server and the contract the checks use: the 100 drawings (bench/finetune_style.py:
digits in Pillow's default font, random stroke width and slant) are POSTed to /api/drawings as
PNGs; a run is POSTed with `from_model: "accurate"` and `data: "mix"`; its evaluations carry
`drawings_accuracy` on the held-out split (20% of the drawings by a hash of their ids, see
docs/api.md). "Before" is the base model's reading of the same held-out drawings (POST
/api/predict with each drawing's stored input; the split is recomputed by the documented rule,
app/data/drawing_mix.py) and its MNIST test accuracy (its file, the trainer's evaluation). A
fresh set of 500 more drawings of the style, never trained on, is read before and after too.

    python bench/finetune.py                  # starts its own server in a temporary folder
    python bench/finetune.py --url http://127.0.0.1:8000   # an empty server you started

Prints the before/after numbers and whether the bar is met.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from finetune_style import style_pngs  # noqa: E402
from page_bench import start_server  # noqa: E402

from app.data.drawing_mix import split_drawings  # noqa: E402

DRAWINGS = 100
FRESH = 500
# The fine-tune (the config docs/api.md suggests for "Fine-tune on my drawings").
RUN = {
    "preset": "accurate",
    "from_model": "accurate",
    "data": "mix",
    "drawings_fraction": 0.25,
    "epochs": 2,
    "train_subset": 10000,
    "learning_rate": 0.0003,
    "lr_schedule": "constant",
}
BAR_GAIN = 0.10  # held-out drawings: at least +10 points
BAR_DROP = 0.005  # MNIST test: at most -0.5 points


def post_drawings(http: httpx.Client) -> None:
    for png, label in style_pngs(DRAWINGS, seed=0):
        image = base64.b64encode(png).decode()
        r = http.post("/api/drawings", json={"image": image, "label": label, "source": "example"})
        r.raise_for_status()


def held_out(http: httpx.Client) -> tuple[np.ndarray, np.ndarray]:
    """The held-out drawings' inputs and labels, by the documented split of their ids."""
    listed = http.get("/api/drawings", params={"include": "input"}).json()["drawings"]
    if len(listed) != DRAWINGS:
        raise SystemExit(
            f"the server holds {len(listed)} drawings, not {DRAWINGS}: use an empty one"
        )
    images = np.array([d["input"] for d in listed], dtype=np.float32)
    labels = np.array([d["label"] for d in listed])
    split = split_drawings(images, labels, tuple(d["id"] for d in listed))
    return split.held_x, split.held_y


def accuracy(http: httpx.Client, model: str, inputs: list[dict[str, object]]) -> float:
    """The share of `inputs` ({"image"} or {"pixels"}, with "label") `model` reads right."""
    right = 0
    for item in inputs:
        body = {k: v for k, v in item.items() if k != "label"}
        r = http.post("/api/predict", json={**body, "model": model})
        r.raise_for_status()
        right += r.json()["digit"] == item["label"]
    return right / len(inputs)


def mnist_test_accuracy() -> float:
    """The shipped accurate's MNIST test accuracy, evaluated as the trainer evaluates."""
    from app.data.batches import to_inputs
    from app.data.deslant import expects_deslant, transformed_data
    from app.data.mnist import load_mnist
    from app.data.strokes import expects_strokes
    from app.nn.serialize import load_model
    from app.nn.trainer import evaluate
    from app.settings import Settings

    network, metadata = load_model(REPO / "app" / "models" / "accurate.npz")
    data = load_mnist(Settings().mnist_dir, download=False)
    # The trainer evaluates a deslant (strokes) model on deslanted (stroke-normalised) digits.
    data = transformed_data(data, expects_deslant(metadata), expects_strokes(metadata))
    predictions, _ = evaluate(network, to_inputs(data.test_images), data.test_labels)
    return float(np.mean(predictions == data.test_labels))


def fine_tune(http: httpx.Client) -> dict[str, object]:
    r = http.post("/api/runs", json=RUN)
    if r.status_code != 201:
        raise SystemExit(f"POST /api/runs answered {r.status_code}: {r.text}")
    run_id = r.json()["id"]
    print(f"run {run_id}: drawings {r.json()['drawings']}", flush=True)
    began, seen = time.monotonic(), 0
    while True:
        run = http.get(f"/api/runs/{run_id}").json()
        for e in run["history"]["evaluations"][seen:]:
            print(f"  epoch {e['epoch']}: MNIST test {e['test_accuracy']:.2%}, "
                  f"held-out drawings {e['drawings_accuracy']:.1%}", flush=True)  # fmt: skip
        seen = len(run["history"]["evaluations"])
        if run["status"] not in ("queued", "downloading", "running"):
            break
        time.sleep(0.5)
    if run["status"] != "finished":
        raise SystemExit(f"the run ended {run['status']}: {run['reason']}")
    print(f"  trained in {time.monotonic() - began:.1f} s (wall, with evaluations)")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an empty running server (default: start one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = (None, args.url) if args.url else start_server(Path(tmp))
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                return measure(http)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)


def measure(http: httpx.Client) -> int:
    post_drawings(http)
    held_x, held_y = held_out(http)
    held = [{"pixels": x.tolist(), "label": int(y)} for x, y in zip(held_x, held_y, strict=True)]
    fresh = [{"image": base64.b64encode(png).decode(), "label": label}
             for png, label in style_pngs(FRESH, seed=1)]  # fmt: skip
    before_held, before_fresh = accuracy(http, "accurate", held), accuracy(http, "accurate", fresh)
    before_mnist = mnist_test_accuracy()
    print(f"before: held-out drawings {before_held:.1%} ({len(held)}), fresh drawings "
          f"{before_fresh:.1%} ({FRESH}), MNIST test {before_mnist:.2%}")  # fmt: skip
    run = fine_tune(http)
    last = run["history"]["evaluations"][-1]  # type: ignore[index]
    after_held, after_mnist = float(last["drawings_accuracy"]), float(last["test_accuracy"])
    model = http.post(f"/api/runs/{run['id']}/save", json={"name": "fine-tuned"}).json()["id"]
    after_fresh = accuracy(http, model, fresh)
    print(f"after:  held-out drawings {after_held:.1%}, fresh drawings {after_fresh:.1%}, "
          f"MNIST test {after_mnist:.2%}")  # fmt: skip
    gain, drop = after_held - before_held, before_mnist - after_mnist
    met = gain >= BAR_GAIN and drop <= BAR_DROP
    print(f"held-out drawings {gain * 100:+.1f} points (bar ≥ +10), MNIST test "
          f"{-drop * 100:+.2f} points (bar ≥ -0.5): {'met' if met else 'NOT met'}")  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
