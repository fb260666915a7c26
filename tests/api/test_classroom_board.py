"""The class leaderboard (app/api/class_board.py): best test accuracy per learner and per
architecture, best first, ties to the smaller network, then the earlier run."""

from __future__ import annotations

from app.api.class_board import leaderboard


def summary(rid: str, owner: str, acc: float | None, sizes: list[int], params: int, created: str):
    return {
        "id": rid, "owner": owner, "owner_name": owner.upper(), "best_test_accuracy": acc,
        "sizes": sizes, "parameters": params, "created": created,
    }  # fmt: skip


def test_best_per_learner_and_per_architecture() -> None:
    small, big = [784, 16, 10], [784, 128, 10]
    runs = [
        summary("r1", "ada", 0.91, small, 12_730, "2026-12-04T09:00:00Z"),
        summary("r2", "ada", 0.95, big, 101_770, "2026-12-04T09:01:00Z"),
        summary("r3", "bob", 0.93, small, 12_730, "2026-12-04T09:02:00Z"),
        summary("r4", "cy", None, big, 101_770, "2026-12-04T09:03:00Z"),  # no evaluation yet
        summary("r5", "dee", 0.93, small, 12_730, "2026-12-04T08:59:00Z"),  # same as bob, earlier
    ]
    board = leaderboard(runs)
    assert [(e["owner"], e["run_id"]) for e in board["learners"]] == [
        ("ada", "r2"),
        ("dee", "r5"),  # ties bob's 0.93 with the same network, and came first
        ("bob", "r3"),
    ]
    assert board["learners"][0]["owner_name"] == "ADA"
    assert [(e["sizes"], e["run_id"], e["runs"]) for e in board["architectures"]] == [
        (big, "r2", 1),
        (small, "r5", 3),
    ]
    assert board["architectures"][1]["parameters"] == 12_730


def test_at_equal_accuracy_the_smaller_network_ranks_first() -> None:
    runs = [
        summary("big", "a", 0.9, [784, 64, 10], 50_890, "2026-12-04T09:00:00Z"),
        summary("small", "b", 0.9, [784, 16, 10], 12_730, "2026-12-04T09:05:00Z"),
    ]
    assert [e["run_id"] for e in leaderboard(runs)["learners"]] == ["small", "big"]


def test_nothing_evaluated_means_an_empty_board() -> None:
    runs = [summary("r", "a", None, [784, 16, 10], 12_730, "2026-12-04T09:00:00Z")]
    assert leaderboard(runs) == {"learners": [], "architectures": []}
