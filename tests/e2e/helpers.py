"""Small browser steps for the e2e tests, in the spirit of Streamlit's own e2e helpers.

Every step relies on Playwright's auto-waiting (``expect``/locators); none sleeps.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 30_000
ROW_HEIGHT = 35  # st.dataframe's default row and header height (px)


def wait_for_app_loaded(page: Page) -> None:
    """The app shell is there and the script run has finished."""
    expect(page.locator("[data-testid='stApp']")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_app_run(page)


def wait_for_app_run(page: Page) -> None:
    """The current script run has finished (Streamlit marks the app element)."""
    expect(
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")
    ).to_be_attached(timeout=TIMEOUT_MS)


def goto(page: Page, base_url: str, path: str) -> None:
    page.goto(f"{base_url}/{path.lstrip('/')}")
    wait_for_app_loaded(page)


def through_route(page: Page, path: str):
    """A context manager that returns once the browser has had the answer of our own
    server route ``path`` (e.g. the login cookie's /session/start): the screen can be
    drawn before the browser is sent there, so wait for the route, not for the screen."""
    return page.expect_response(lambda response: path in response.url, timeout=TIMEOUT_MS)


def button(page: Page, label: str) -> Locator:
    """A button (st.button, st.form_submit_button, st.download_button) by its exact label."""
    return page.get_by_role("button", name=label, exact=True)


def click_button(page: Page, label: str) -> None:
    target = button(page, label).first
    expect(target).to_be_enabled(timeout=TIMEOUT_MS)
    target.click()
    wait_for_app_run(page)


def fill_text_input(page: Page, label: str, value: str) -> None:
    """Type into st.text_input by its label and commit the value (Enter)."""
    # inputs only: a multiselect's chip of the same name (e.g. the CSV columns' 注文番号)
    # carries the label too, and may be drawn before the field while the page renders
    box = page.get_by_label(label, exact=True).and_(page.locator("input, textarea")).first
    expect(box).to_be_editable(timeout=TIMEOUT_MS)
    box.fill(value)
    box.press("Enter")
    wait_for_app_run(page)


def expect_input_value(page: Page, label: str, value: str) -> None:
    """The one input labelled ``label`` holds ``value``. While a rerun redraws a form under a
    new identity, the old field stays on screen (stale) beside the new one until the run
    ends: wait for there to be exactly one before reading it."""
    box = page.get_by_label(label, exact=True).and_(page.locator("input, textarea"))
    expect(box).to_have_count(1, timeout=TIMEOUT_MS)
    expect(box).to_have_value(value, timeout=TIMEOUT_MS)


def set_checkbox(page: Page, label: str, checked: bool) -> None:
    box = page.locator("[data-testid='stCheckbox']").filter(has_text=label).first
    expect(box).to_be_visible(timeout=TIMEOUT_MS)
    if box.locator("input").is_checked() != checked:
        box.locator("label").click()
        wait_for_app_run(page)


def select_option(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in st.selectbox / st.multiselect labelled ``label``."""
    widget = (
        page.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']")
        .filter(has=page.get_by_text(label, exact=True))
        .first
    )
    widget.locator("input").click()
    page.get_by_role("option", name=option, exact=True).click()
    if widget.get_attribute("data-testid") == "stMultiSelect":
        expect(widget).to_contain_text(option)
        page.keyboard.press("Escape")  # close the still-open list
    else:
        expect(widget.locator("input")).to_have_value(option)
    wait_for_app_run(page)


def expect_text(page: Page, text: str | re.Pattern, timeout: int = TIMEOUT_MS) -> None:
    expect(page.get_by_text(text).first).to_be_visible(timeout=timeout)


def dataframe(page: Page, index: int = 0) -> Locator:
    frame = page.locator("[data-testid='stDataFrame']").nth(index)
    expect(frame).to_be_visible(timeout=TIMEOUT_MS)
    return frame


def select_grid_rows(page: Page, grid: Locator, rows: list[int]) -> None:
    """Tick the selection checkbox of data rows (0-based) of a canvas-drawn st.dataframe.
    A list change draws a new grid (the selection's generation, pages/_selection.py): wait
    for the run to end and the grid to be there before clicking into it."""
    wait_for_app_run(page)
    expect(grid).to_be_visible(timeout=TIMEOUT_MS)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    for row in rows:
        grid.click(position={"x": 12, "y": ROW_HEIGHT + row * ROW_HEIGHT + ROW_HEIGHT / 2})
        wait_for_app_run(page)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
