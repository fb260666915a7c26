"""The network's vocabulary, declared once: every fixed set of words a config or a model file
may use, and the sizes of MNIST's input and output. The API (`GET /api/vocabulary`), the CLI,
the config and the page all derive from these."""

from __future__ import annotations

from typing import Final, Literal, get_args

INPUT_SIZE: Final = 784  # 28 × 28 pixels
OUTPUT_SIZE: Final = 10  # one output per digit

Activation = Literal["sigmoid", "relu", "tanh"]
ACTIVATIONS: tuple[Activation, ...] = get_args(Activation)

Cost = Literal["quadratic", "cross_entropy"]
COSTS: tuple[Cost, ...] = get_args(Cost)

# What the output layer computes for each cost: the video's quadratic cost goes with sigmoid
# outputs (normalised by their sum to read as probabilities), cross-entropy with softmax.
OutputFunction = Literal["sigmoid", "softmax"]
OUTPUT_FOR_COST: Final[dict[Cost, OutputFunction]] = {
    "quadratic": "sigmoid",
    "cross_entropy": "softmax",
}

OptimizerName = Literal["sgd", "momentum", "adam"]
OPTIMIZERS: tuple[OptimizerName, ...] = get_args(OptimizerName)

LrSchedule = Literal["constant", "cosine", "onecycle"]
LR_SCHEDULES: tuple[LrSchedule, ...] = get_args(LrSchedule)

# The datasets a run can train on (fashion: issue 17 §3). Each has its entry (files, checksums,
# mirrors, class names) in app/data/datasets.py's registry; adding one is a word here and an
# entry there.
DatasetName = Literal["mnist", "fashion_mnist"]
DATASET_NAMES: tuple[DatasetName, ...] = get_args(DatasetName)

# What a run's batches come from (finetune: issue 17 §2): MNIST as before, the labelled
# drawings of its `DrawingsPool` only, or a mix of both (`drawings_fraction` of each batch).
DataMix = Literal["mnist", "drawings", "mix"]
DATA_MIXES: tuple[DataMix, ...] = get_args(DataMix)

# Which labelled drawings a run trains on (issue 17): the learner's own, or the class dataset
# the teacher pooled. (Declared by the drawings branch for DrawingStore.labelled_set.)
DrawingsPool = Literal["mine", "class"]
DRAWINGS_POOLS: tuple[DrawingsPool, ...] = get_args(DrawingsPool)

# Where a labelled drawing came from: a correction of a wrong prediction, an example kept for a
# right one, or a zip import (POST /api/drawings/import).
DrawingSource = Literal["correction", "example", "import"]
DRAWING_SOURCES: tuple[DrawingSource, ...] = get_args(DrawingSource)
