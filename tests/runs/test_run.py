"""app/runs/run.py: the digits query shared by the mistakes gallery and GET /digits."""

from __future__ import annotations

import numpy as np

from app.runs.gallery import ranked_digits, top_mistakes

LABELS = np.array([3, 3, 5, 5, 3, 7])
PREDICTED = np.array([3, 5, 5, 3, 5, 7])
CONFIDENCE = np.array([0.9, 0.6, 0.8, 0.95, 0.7, 0.5], dtype=np.float32)


def test_without_a_filter_it_is_the_most_confident_mistakes() -> None:
    # mistakes: 1 (3→5, 0.6), 3 (5→3, 0.95), 4 (3→5, 0.7)
    assert ranked_digits(PREDICTED, CONFIDENCE, LABELS).tolist() == [3, 4, 1]
    assert ranked_digits(PREDICTED, CONFIDENCE, LABELS, limit=2).tolist() == [3, 4]
    assert [m["index"] for m in top_mistakes(PREDICTED, CONFIDENCE, LABELS)] == [3, 4, 1]


def test_label_and_predicted_filter_right_answers_too() -> None:
    assert ranked_digits(PREDICTED, CONFIDENCE, LABELS, label=3).tolist() == [0, 4, 1]
    assert ranked_digits(PREDICTED, CONFIDENCE, LABELS, predicted=5).tolist() == [2, 4, 1]
    both = ranked_digits(PREDICTED, CONFIDENCE, LABELS, label=3, predicted=3)
    assert both.tolist() == [0]
    assert ranked_digits(PREDICTED, CONFIDENCE, LABELS, label=9).tolist() == []
