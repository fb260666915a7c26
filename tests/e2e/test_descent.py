"""The gradient-descent toys in a real Chromium.

The test knows the toy functions from the spec (the same formulas, written again here) and
finds their minima itself: on a fine grid, refined by bisection on a finite-difference
derivative, and for the surface by its own gradient flow. It drops balls through the page's
small hook (window.__nnp.descent), drives the real controls, and reads the readouts in the DOM.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from .waits import wait_for

# f(x) = x²/10 + sin 2x, shown on [-5, 4].
CURVE_VIEW = (-5.0, 4.0)


def f(x: float) -> float:
    return x * x / 10 + math.sin(2 * x)


def slope(x: float, h: float = 1e-5) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


# f(x, y) = 0.06 (x² + y²) − Σ a·exp(−|p − c|² / 2s²), shown on [-3, 3]².
WELLS = [(-1.5, -0.9, 2.0, 0.9), (1.5, -1.0, 1.6, 0.8), (0.3, 1.5, 1.3, 0.8)]
SURFACE_VIEW = (-3.0, 3.0)


def g(x, y):
    v = 0.06 * (x * x + y * y)
    for cx, cy, a, s in WELLS:
        v = v - a * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
    return v


def grad_fd(x: float, y: float, h: float = 1e-6) -> tuple[float, float]:
    return (
        float(g(x + h, y) - g(x - h, y)) / (2 * h),
        float(g(x, y + h) - g(x, y - h)) / (2 * h),
    )


def bisect_zero(fn, lo: float, hi: float) -> float:
    for _ in range(60):
        mid = (lo + hi) / 2
        if (fn(lo) < 0) == (fn(mid) < 0):
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def curve_critical_points() -> tuple[list[float], list[float]]:
    """(minima, maxima) of f inside the view: sign changes of f′ on a grid, then bisection."""
    xs = np.linspace(*CURVE_VIEW, 9001)
    d = np.array([slope(x) for x in xs])
    minima, maxima = [], []
    for i in range(len(xs) - 1):
        if d[i] < 0 <= d[i + 1]:
            minima.append(bisect_zero(slope, xs[i], xs[i + 1]))
        elif d[i] > 0 >= d[i + 1]:
            maxima.append(bisect_zero(slope, xs[i], xs[i + 1]))
    return minima, maxima


def downhill_minimum(x0: float, minima: list[float]) -> float:
    """For small steps the ball rolls to the first minimum in the downhill direction."""
    if slope(x0) < 0:
        return min(m for m in minima if m > x0)
    return max(m for m in minima if m < x0)


def surface_minima() -> list[tuple[float, float]]:
    """Grid points lower than their 8 neighbours, on a 0.005 grid."""
    n = 1201
    axis = np.linspace(*SURFACE_VIEW, n)
    X, Y = np.meshgrid(axis, axis)
    Z = g(X, Y)
    c = Z[1:-1, 1:-1]
    low = np.ones_like(c, dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                low &= c < Z[1 + dy : n - 1 + dy, 1 + dx : n - 1 + dx]
    iy, ix = np.nonzero(low)
    return [(float(axis[i + 1]), float(axis[j + 1])) for j, i in zip(iy, ix, strict=True)]


def surface_flow(x: float, y: float) -> tuple[float, float]:
    """Where small gradient steps (finite-difference gradient) from (x, y) come to rest."""
    for _ in range(200000):
        gx, gy = grad_fd(x, y)
        if math.hypot(gx, gy) < 1e-7:
            break
        x, y = x - 0.02 * gx, y - 0.02 * gy
    return x, y


# --- page helpers ---------------------------------------------------------------------------

FINISHED = (
    "(which) => ['converged', 'diverged', 'unsettled', 'flat']"
    ".includes(window.__nnp.descent[which]().status)"
)


def set_eta(page, eta: float) -> None:
    page.get_by_test_id("descent-eta").fill(str(eta))
    assert page.evaluate("() => window.__nnp.descent.state().eta") == eta


def drop(page, x: float) -> None:
    page.evaluate("(x) => window.__nnp.descent.drop(x)", x)


def drop2d(page, x: float, y: float) -> None:
    page.evaluate("([x, y]) => window.__nnp.descent.drop2d(x, y)", [x, y])


def run_until(page, which: str = "state", timeout: float = 20000) -> dict:
    """Press Run (unless the other ball is still running, which carries this one along too)."""
    if not page.evaluate("() => window.__nnp.descent.state().running"):
        page.get_by_test_id("descent-run").click()
    wait_for(page, FINISHED, which, timeout=timeout)
    return page.evaluate(f"() => window.__nnp.descent.{which}()")


def readout(page, testid: str) -> str:
    """A readout's text once the page has drawn the latest state (render is once a frame)."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page.get_by_test_id(testid).inner_text()


def number(text: str) -> float:
    return float(text.replace("−", "-"))


@pytest.fixture
def page(open_page):
    p = open_page()
    p.get_by_test_id("descent-curve").scroll_into_view_if_needed()
    return p


# --- the curve ------------------------------------------------------------------------------


def test_ball_settles_in_the_minimum_downhill_from_either_side_of_each_hump(page) -> None:
    minima, maxima = curve_critical_points()
    assert len(minima) >= 3 and len(maxima) >= 2, (minima, maxima)
    set_eta(page, 0.05)
    for hump in maxima:
        ends = []
        for start in (hump - 0.3, hump + 0.3):
            expected = downhill_minimum(start, minima)
            drop(page, start)
            state = run_until(page)
            assert state["status"] == "converged", state["status"]
            assert state["x"] == pytest.approx(expected, abs=1e-3), (start, state["x"], expected)
            # Small steps only roll downhill: every step lowers f.
            heights = [f(p[0]) for p in state["path"]]
            assert all(b <= a + 1e-12 for a, b in itertools.pairwise(heights))
            assert "settled in a local minimum" in readout(page, "descent-status")
            ends.append(state["x"])
        assert abs(ends[0] - ends[1]) > 1, f"both sides of the hump at {hump} ended at {ends}"


def test_slope_and_step_readouts_match_finite_differences(page) -> None:
    eta = 0.05
    set_eta(page, eta)
    for x in (-4.2, -1.7, 0.3, 2.9):
        drop(page, x)
        assert number(readout(page, "descent-x")) == pytest.approx(x, rel=1e-3)
        expected = slope(x)
        shown = number(readout(page, "descent-slope"))
        assert shown == pytest.approx(expected, rel=1e-3, abs=1e-3), (x, shown, expected)
        step = number(readout(page, "descent-step"))
        assert step == pytest.approx(-eta * expected, rel=1e-3, abs=1e-4)
        assert number(readout(page, "descent-fx")) == pytest.approx(f(x), rel=1e-3, abs=1e-3)
    # One press of Step moves the ball by exactly that step.
    page.get_by_test_id("descent-step-button").click()
    state = page.evaluate("() => window.__nnp.descent.state()")
    assert state["x"] == pytest.approx(2.9 - eta * slope(2.9), abs=1e-6)
    assert readout(page, "descent-steps") == "1"


def test_huge_step_size_diverges(page) -> None:
    eta, x0 = 10.0, 0.3
    assert not CURVE_VIEW[0] <= x0 - eta * slope(x0) <= CURVE_VIEW[1]  # the first step leaves
    set_eta(page, eta)
    drop(page, x0)
    page.get_by_test_id("descent-step-button").click()
    wait_for(page, "() => window.__nnp.descent.state().status === 'diverged'")
    assert "diverged: step size too large" in readout(page, "descent-status")
    # Reset puts it back where it was dropped; a small step size then finds the valley.
    page.get_by_test_id("descent-reset").click()
    state = page.evaluate("() => window.__nnp.descent.state()")
    assert (state["x"], state["status"]) == (x0, "ready")
    minima, _ = curve_critical_points()
    set_eta(page, 0.05)
    state = run_until(page)
    assert state["status"] == "converged"
    assert state["x"] == pytest.approx(downhill_minimum(x0, minima), abs=1e-3)


def test_large_step_size_overshoots_the_bottom(page) -> None:
    minima, _ = curve_critical_points()
    x0 = 0.3
    bottom = downhill_minimum(x0, minima)
    set_eta(page, 0.35)
    drop(page, x0)
    state = run_until(page)
    assert state["status"] == "converged"
    assert state["x"] == pytest.approx(bottom, abs=1e-3)
    sides = [np.sign(p[0] - bottom) for p in state["path"][:12]]
    crossings = sum(1 for a, b in itertools.pairwise(sides) if a != b)
    assert crossings >= 2, f"the ball never jumped past the bottom: {state['path'][:12]}"
    assert "overshooting" in readout(page, "descent-status")


def test_click_drag_and_keys_move_the_ball(page) -> None:
    canvas = page.get_by_test_id("descent-curve")
    box = canvas.bounding_box()
    for x in (-3.0, 1.5):
        p = page.evaluate("(x) => window.__nnp.descent.clientPoint(x)", x)
        assert box["x"] <= p["x"] <= box["x"] + box["width"]
        page.mouse.click(p["x"], p["y"])
        assert page.evaluate("() => window.__nnp.descent.state().x") == pytest.approx(x, abs=0.02)
    canvas.focus()
    before = page.evaluate("() => window.__nnp.descent.state().x")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("() => window.__nnp.descent.state().x")
    assert after == pytest.approx(before + 0.05, abs=1e-9)
    slider = page.get_by_role("slider", name="Where the ball is on the curve")
    wait_for(
        page,
        "(x) => Math.abs(+document.querySelector('#descent-curve')"
        ".getAttribute('aria-valuenow') - x) < 1e-3",
        after,
    )
    assert slider.get_attribute("aria-valuetext").startswith(f"x = {after:.4g}")
    p = page.evaluate("() => window.__nnp.descent.clientPoint2d(-2, 1)")
    page.mouse.click(p["x"], p["y"])
    x, y = page.evaluate("() => window.__nnp.descent.state2d().p")
    assert (x, y) == (pytest.approx(-2, abs=0.03), pytest.approx(1, abs=0.03))
    # The step-size slider (log10 η in steps of 0.01) is a keyboard control that feeds the field.
    set_eta(page, 0.05)
    eta_slider = page.get_by_test_id("descent-eta-range")
    eta_slider.focus()
    page.keyboard.press("ArrowRight")
    expected = float(f"{10 ** (round(math.log10(0.05), 2) + 0.01):.3g}")
    assert float(page.get_by_test_id("descent-eta").input_value()) == expected
    assert page.evaluate("() => window.__nnp.descent.state().eta") == expected


def test_bad_step_size_is_refused_in_the_field(page) -> None:
    set_eta(page, 0.05)
    field = page.get_by_test_id("descent-eta")
    field.fill("-1")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => window.__nnp.descent.state().eta") == 0.05
    assert "from 0.0001 to 1000" in page.locator("#descent-eta-error").inner_text()


# --- the surface ----------------------------------------------------------------------------


def test_surface_path_ends_at_the_minimum_its_start_flows_to(page) -> None:
    minima = surface_minima()
    assert len(minima) == 3, minima
    set_eta(page, 0.05)
    reached = set()
    for start in ((0.2, -2.6), (-2.6, 1.0), (2.6, 1.8)):
        end = surface_flow(*start)
        nearest = min(minima, key=lambda m: math.dist(m, end))
        assert math.dist(nearest, end) < 0.01  # the grid and the flow agree
        drop2d(page, *start)
        state = run_until(page, "state2d")
        assert state["status"] == "converged", state["status"]
        last = state["path"][-1]
        assert math.dist(last, end) < 2e-3, (start, last, end)
        reached.add(nearest)
        assert "settled in a local minimum" in readout(page, "descent2d-status")
        gx, gy = (number(v) for v in readout(page, "descent2d-grad").strip("()").split(","))
        assert math.hypot(gx, gy) < 1e-3
    assert len(reached) >= 2, "every start ended in the same valley"


def test_surface_gradient_readout_and_huge_step(page) -> None:
    x, y = 1.0, 0.4
    drop2d(page, x, y)
    shown = [number(v) for v in readout(page, "descent2d-grad").strip("()").split(",")]
    assert shown == [pytest.approx(v, rel=1e-3, abs=1e-3) for v in grad_fd(x, y)]
    set_eta(page, 50.0)
    state = run_until(page, "state2d")
    assert state["status"] == "diverged"
    assert "diverged: step size too large" in readout(page, "descent2d-status")


# --- screenshots ----------------------------------------------------------------------------


def test_screenshots(open_page, artifacts) -> None:
    for width, height, theme in [(1280, 800, "dark"), (1280, 800, "light"), (390, 844, "dark")]:
        page = open_page(width, height)
        if theme == "light":
            page.get_by_role("button", name="Switch to light theme").click()
        section = page.locator("#descent")
        section.scroll_into_view_if_needed()
        # Mid-descent: the hops so far, the tangent, the next step, the downhill arrow.
        set_eta(page, 0.1)
        drop(page, -2.0)
        drop2d(page, 2.5, 2.4)
        for _ in range(6):
            page.get_by_test_id("descent-step-button").click()
        readout(page, "descent-status")
        section.screenshot(path=str(artifacts / f"descent-{width}x{height}-{theme}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Overshooting on both: the zig-zag across the valleys.
    set_eta(page, 0.4)
    drop(page, 0.3)
    drop2d(page, -2.6, 1.0)
    run_until(page, "state2d")
    wait_for(page, FINISHED, "state")
    readout(page, "descent-status")
    section.screenshot(path=str(artifacts / "descent-390x844-overshoot.png"))
