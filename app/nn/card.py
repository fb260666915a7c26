"""A model card in Markdown: what the network is, how it was trained (a fine-tuning run: from
which model, on which drawings), on what dataset, how well it reads its classes (digits, or
Fashion-MNIST's clothes), from the network and its file's metadata (app/nn/serialize.py
`trained_metadata`).

The metadata of an uploaded file is anybody's JSON: every value is checked for its type before
it is shown, a missing or odd one reads "not recorded", and text from it is put on one line with
Markdown's and HTML's special characters escaped.
"""

from __future__ import annotations

import json
import math

from app.clock import utc_now
from app.data.strokes import WIDTH_RANGE
from app.jsontypes import JSONObject
from app.nn.config import parameter_count
from app.nn.network import Network
from app.nn.serialize import model_classes
from app.nn.vocab import OUTPUT_FOR_COST

NOT_RECORDED = "not recorded"
MAX_CONFIG_ROWS = 40
MAX_TEXT = 120
_ESCAPES = str.maketrans({c: f"\\{c}" for c in "\\`*[]|"} | {"<": "&lt;", ">": "&gt;"})


def text(value: object) -> str:
    """Any value as one line of escaped Markdown text, at most MAX_TEXT characters."""
    raw = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    line = " ".join(raw.split())
    if len(line) > MAX_TEXT:
        line = line[: MAX_TEXT - 1] + "…"
    return line.translate(_ESCAPES)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def percent(value: object) -> str:
    """A fraction 0..1 as `99.29%`, anything else as "not recorded"."""
    number = _number(value)
    return NOT_RECORDED if number is None else f"{number:.2%}"


def _config(metadata: JSONObject) -> JSONObject:
    config = metadata.get("config")
    return config if isinstance(config, dict) else {}


def _pooled(metadata: JSONObject) -> bool:
    """Whether the run trained on the class's pooled drawings, not the owner's own."""
    return _config(metadata).get("drawings_pool") == "class"


DESLANT_WORDS = (
    "; stood upright first: sheared horizontally about its centre of mass so that the ink's "
    "moment mu11 is 0 (slant = mu11 / mu02), then re-fitted to 20 px and centred by mass"
)


_LOW, _HIGH = WIDTH_RANGE
STROKES_WORDS = (
    f"; strokes thicker than MNIST's range of widths ({_LOW:.2f}-{_HIGH:.2f} px, width = "
    f"8·Σink / (π·total variation)) first thinned to {_HIGH:.2f} px by grey erosions with the "
    "3×3 cross (thinner ones left as they are), then re-fitted to 20 px and centred by mass"
)


def input_words(title: str, deslant: bool = False, strokes: bool = False) -> str:
    """What the input is, for a model trained on the dataset titled `title` (and on deslanted
    images when `deslant`: app/data/deslant.py; on stroke-normalised ones when `strokes`:
    app/data/strokes.py, applied before deslant; the exported network expects the same)."""
    if title == "MNIST":
        words = "a 28×28 drawing, row by row, light ink on dark, as MNIST"
    else:
        words = f"a 28×28 greyscale image, row by row, light on dark, as {title}"
    return words + (STROKES_WORDS if strokes else "") + (DESLANT_WORDS if deslant else "")


def _input_words(metadata: JSONObject) -> str:
    transforms = (metadata.get("deslant") is True, metadata.get("strokes") is True)
    return input_words(dataset_title(metadata), *transforms)


def architecture(network: Network, metadata: JSONObject) -> list[str]:
    sizes = list(network.sizes)
    hidden = ", ".join(map(str, sizes[1:-1])) or "none"
    weights = sum(w.size for w in network.weights)
    total = parameter_count(sizes)
    output = OUTPUT_FOR_COST[network.cost]
    _, names = model_classes(metadata, sizes[-1])
    return [
        "## Architecture",
        "",
        f"A fully connected network (multilayer perceptron): {' → '.join(map(str, sizes))}.",
        "",
        f"- Input: {sizes[0]} pixel values in 0..1 ({_input_words(metadata)})",
        f"- Hidden layers: {hidden}, activation {network.activation}",
        f"- Output layer: {sizes[-1]} units, {output} (cost: {network.cost}); the classes, "
        f"output 0 first: {', '.join(text(n) for n in names)}",
        f"- Parameters: {total:,} ({weights:,} weights, {total - weights:,} biases)",
    ]


def training(metadata: JSONObject) -> list[str]:
    config = _config(metadata)
    epochs, seconds = _number(metadata.get("epochs")), _number(metadata.get("seconds"))
    facts = [
        f"preset {text(metadata['preset'])}" if isinstance(metadata.get("preset"), str) else "",
        f"{epochs:g} epochs" if epochs is not None else "",
        f"{seconds:.1f} s of training" if seconds is not None else "",
        f"saved from run {text(metadata['source_run'])}"
        if isinstance(metadata.get("source_run"), str)
        else "",
    ]
    lines = ["## Training", ""]
    summary = ", ".join(fact for fact in facts if fact)
    lines.append(f"Trained: {summary}." if summary else f"Training: {NOT_RECORDED}.")
    if not config:
        return [*lines, "", f"Training config: {NOT_RECORDED} in the model file."]
    lines += ["", "| Setting | Value |", "|---|---|"]
    rows = list(config.items())
    lines += [f"| {text(key)} | {text(value)} |" for key, value in rows[:MAX_CONFIG_ROWS]]
    if len(rows) > MAX_CONFIG_ROWS:
        lines.append(f"| … | {len(rows) - MAX_CONFIG_ROWS} more settings |")
    return lines


def data_mix(metadata: JSONObject) -> str:
    """Where the training examples came from: the model's dataset (MNIST, Fashion-MNIST), the
    drawings (the owner's, or the class's pool), or a mix (a config's `data`,
    `drawings_fraction` and `drawings_pool`; the metadata's `drawings` counts)."""
    config = _config(metadata)
    if not config:
        return NOT_RECORDED
    data = config.get("data", "mnist")
    fraction = _number(config.get("drawings_fraction"))
    drawings = "the class's pooled drawings" if _pooled(metadata) else "the owner's drawings"
    if data == "drawings":
        source = drawings
    elif data == "mix":
        share = f", {fraction:.0%} of the samples" if fraction is not None else ""
        source = f"{dataset_title(metadata)} mixed with {drawings}{share}"
    else:
        source = dataset_title(metadata)  # fashion (issue 17 §3): "MNIST", "Fashion-MNIST"
    things = "digits" if dataset_title(metadata) == "MNIST" else "images"
    details = [drawing_counts(metadata)] if data in ("drawings", "mix") else []
    subset = _number(config.get("train_subset"))
    if subset is not None:
        details.append(f"the first {subset:,.0f} training {things}")
    held_out = _number(config.get("validation_size"))
    if held_out:
        details.append(f"{held_out:,.0f} training {things} held out for validation")
    if config.get("augment") is True:
        strength = _number(config.get("augment_strength"))
        details.append("augmented" + (f", strength {strength:g}" if strength is not None else ""))
    details = [d for d in details if d]
    return source + (f" ({'; '.join(details)})" if details else "")


def drawing_counts(metadata: JSONObject) -> str:
    """ "78 drawings trained, 22 held out" from the metadata's `drawings` (finetune, issue 17
    §2), "" when it is not recorded."""
    counts = metadata.get("drawings")
    if not isinstance(counts, dict):
        return ""
    train, held = _number(counts.get("train")), _number(counts.get("held_out"))
    if train is None or held is None:
        return ""
    return f"{train:,.0f} drawings trained, {held:,.0f} held out"


def started_from(metadata: JSONObject) -> list[str]:
    """The fine-tuning line: the model a run started from (its config's `from_model`)."""
    origin = _config(metadata).get("from_model")
    if not isinstance(origin, str) or not origin:
        return []
    return ["", f"Fine-tuned: started from the weights of model {text(origin)}."]


def dataset_title(metadata: JSONObject) -> str:
    """The title of the dataset the model was trained on (fashion, issue 17 §3): the model's
    recorded `dataset` (its config's for older files), "MNIST" when none is known."""
    from app.data.datasets import DATASETS  # late: app.data.datasets imports app.nn

    titles = {str(name): entry.title for name, entry in DATASETS.items()}
    recorded = metadata.get("dataset") or _config(metadata).get("dataset")
    return titles.get(str(recorded), "MNIST")


def accuracy_line(metadata: JSONObject) -> str:
    """What the test accuracy was measured on, as the card names it."""
    title = dataset_title(metadata)
    if title == "MNIST":
        return "MNIST test accuracy (10,000 test digits)"
    return f"{title} test accuracy (its 10,000 test images)"


def evaluation(metadata: JSONObject) -> list[str]:
    drawings = metadata.get("drawings_accuracy")
    pool = "the class's held-out drawings" if _pooled(metadata) else "the owner's drawings"
    owner = (
        percent(drawings)
        if _number(drawings) is not None
        else "not measured (the owner has no held-out drawings yet)"
    )
    return [
        "## Evaluation",
        "",
        f"- {accuracy_line(metadata)}: {percent(metadata.get('test_accuracy'))}",
        f"- Validation accuracy: {percent(metadata.get('validation_accuracy'))}",
        f"- Accuracy on {pool}: {owner}",
    ]


def use(network: Network, metadata: JSONObject) -> str:
    """What the model is for: reading digits (MNIST) or labelling images as its classes."""
    title = dataset_title(metadata)
    tail = (
        "made with nn-playground, for learning how neural networks work; not evaluated for uses "
        "where a misread {} has consequences."
    )
    if title == "MNIST":
        return (
            "Reads one handwritten digit (0–9) centred in a 28×28 image, as MNIST's are; "
            + tail.format("digit")
        )
    _, names = model_classes(metadata, network.sizes[-1])
    return (
        f"Labels one 28×28 greyscale image, like {text(title)}'s, as one of its {len(names)} "
        f"classes ({', '.join(text(n) for n in names)}); a drawing on the page is read the "
        "same way, as one of these classes, not as a digit; " + tail.format("image")
    )


def model_card(
    network: Network, metadata: JSONObject, *, name: str, model_id: str, now: str | None = None
) -> str:
    """The Markdown model card of `network`, whose file holds `metadata`."""
    created = metadata.get("created")
    lines = [
        f"# Model card: {text(name)}",
        "",
        f"- Model id: {text(model_id)}",
        f"- Created: {text(created) if isinstance(created, str) else NOT_RECORDED}",
        f"- Card written: {now or utc_now()}",
        "",
        *architecture(network, metadata),
        "",
        *training(metadata),
        "",
        "## Data",
        "",
        f"Training data: {data_mix(metadata)}.",
        *started_from(metadata),
        "",
        *evaluation(metadata),
        "",
        "## Use",
        "",
        use(network, metadata),
    ]
    return "\n".join(lines) + "\n"
