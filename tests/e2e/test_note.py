"""The page says when it can't really read a drawing (a dot), and not for a real digit."""

from __future__ import annotations

from .test_playground import ONE, SEVEN, choose_model, clear, draw_and_predict


def test_a_dot_gets_the_note_and_a_digit_does_not(open_page) -> None:
    # open_page's fixture fails the test on any console error or page error.
    page = open_page()
    choose_model(page, "accurate")
    note = page.get_by_test_id("prediction-note")
    draw_and_predict(page, [(0.5, 0.5), (0.505, 0.5)])  # a tap with the mouse: a dot
    assert note.is_visible()
    assert note.text_content() == "Too small to read: draw bigger"
    assert "guess" in page.get_by_test_id("prediction").get_attribute("class")
    assert page.locator("#confidence").text_content() == "only a guess"
    clear(page)
    assert not note.is_visible()
    for digit, points in (("7", SEVEN), ("1", ONE)):
        assert draw_and_predict(page, points) == digit
        assert not note.is_visible() and note.text_content() == ""
        assert "guess" not in page.get_by_test_id("prediction").get_attribute("class")
        # Issue 19: the number says what it is (a softmax probability or a sigmoid output).
        shown = page.locator("#confidence").text_content()
        assert "probability" in shown or "output" in shown, shown
        clear(page)
