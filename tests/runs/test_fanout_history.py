"""A run's history is bounded (review #16): `batch_size 1, report_every 1` reported one point
per step, millions for a long run, all kept and sent in every WebSocket snapshot. A run that
would report more than MAX_POINTS points merges neighbouring reports into one point, as if it
had reported less often: the same curve, the same last step, nothing lost at its end."""

from __future__ import annotations

import math

from app.nn.config import TrainConfig
from app.nn.protocol import MetricsEvent
from app.runs.run import MAX_POINTS, Run

STEPS_PER_EPOCH = 30_000


def report(run: Run, step: int, cost: float, *, fraction: float | None = None) -> None:
    epoch_index = (step - 1) // STEPS_PER_EPOCH
    done = (
        fraction
        if fraction is not None
        else (step - epoch_index * STEPS_PER_EPOCH) / STEPS_PER_EPOCH
    )
    run.record_metrics(
        MetricsEvent(
            step=step, epoch=epoch_index + done, samples_seen=step, cost=cost,
            batch_accuracy=(step % 2) * 1.0, samples_per_second=1000.0, learning_rate=0.01,
            epoch_index=epoch_index, epoch_fraction=done, eta_seconds=1.0,
        )
    )  # fmt: skip


def batch_one_run(epochs: int = 2) -> Run:
    config = TrainConfig(
        epochs=epochs, batch_size=1, report_every=1, train_subset=STEPS_PER_EPOCH, validation_size=0
    )
    return Run(id="r_long", config=config, created="now", status="running")


def cost_of(step: int) -> float:
    return 2.0 / math.sqrt(step)


def test_a_batch_one_run_keeps_at_most_max_points_with_the_same_curve() -> None:
    run = batch_one_run()
    total = 2 * STEPS_PER_EPOCH  # 60,000 reports: 3 to a point
    for step in range(1, total + 1):
        report(run, step, cost_of(step))
    n = run.history_length()
    assert n <= MAX_POINTS  # it was 60,000
    assert run.steps[-1] == total and run.epochs[-1] == 2.0  # nothing lost at the end
    assert STEPS_PER_EPOCH in run.steps  # an epoch's end is a point
    # Each point is its reports' mean, at its last step (reports every `k` steps: k = 3).
    k = total // n
    for i in (0, 1, n // 2, n - 1):
        step = run.steps[i]
        merged = [cost_of(s) for s in range(step - k + 1, step + 1)]
        assert math.isclose(run.costs[i] or 0.0, sum(merged) / k, rel_tol=1e-12)
        assert math.isclose(
            run.accuracies[i], sum(s % 2 for s in range(step - k + 1, step + 1)) / k
        )
    assert run.steps == sorted(run.steps) and len(set(run.steps)) == n


def test_a_diverged_or_paused_run_keeps_its_last_reports() -> None:
    run = batch_one_run()
    for step in range(1, 1001):
        report(run, step, cost_of(step))
    report(run, 1001, float("nan"))
    run.set_status("diverged", "the cost became NaN")
    assert run.steps[-1] == 1001 and run.costs[-1] is None  # the divergence is on the curve

    paused = batch_one_run()
    for step in range(1, 1002):
        report(paused, step, cost_of(step))
    paused.set_status("paused")
    assert paused.steps[-1] == 1001  # the paused view shows where it stopped


def test_more_reports_than_the_config_promised_are_still_bounded() -> None:
    """E.g. a dataset larger than the config says: the stride doubles every MAX_POINTS points."""
    run = Run(id="r_odd", config=TrainConfig(epochs=1, validation_size=0), created="now")
    reports = 5 * MAX_POINTS
    for step in range(1, reports + 1):
        report(run, step * 10, 1.0, fraction=0.5)
    run.flush_points()
    assert run.history_length() <= 3 * MAX_POINTS
    assert run.steps[-1] == reports * 10
