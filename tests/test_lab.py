"""JupyterLab, driven in Chromium, as `make lab` starts it: open the reader
notebook of Chapter 1 (written by the book build), see its learning goals
rendered with no MyST syntax, run all, move a live slider, see the figure
change. The notebook runs from a temporary copy, so Lab's autosave cannot
touch the build; Lab's settings come from tools/lab-settings/, as in `make lab`,
so no news pop-up appears."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from support import ROOT

pytestmark = pytest.mark.lab

# the reader notebooks of the built book; DOTBOOK_BUILD_DIR points at another build
READERS = Path(os.environ.get("DOTBOOK_BUILD_DIR", ROOT / "_build")) / "html" / "_notebooks"
CHAPTER = READERS / "01-dot-product.ipynb"
SETTINGS = ROOT / "tools" / "lab-settings"
SHOTS = Path(os.environ.get("DOTBOOK_SHOTS", ROOT / "_build" / "screenshots"))


# the x and y numbers of every trace of the first live figure, as JSON
_TRACES = ("() => JSON.stringify(document.querySelector('.jp-OutputArea .js-plotly-plot').data"
           ".map(t => [Array.from(t.x || []), Array.from(t.y || [])]))")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    if not CHAPTER.exists():
        pytest.fail(f"{CHAPTER} is missing: run 'make book' (make test does it first)")
    shutil.copy(CHAPTER, work / CHAPTER.name)
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / ".config"),
               JUPYTER_RUNTIME_DIR=str(work / ".runtime"))
    env.pop("DOTBOOK_BUILD", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--LabApp.extension_manager=readonly",
         "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True",
         f"--ServerApp.root_dir={work}", f"--LabApp.app_settings_dir={SETTINGS}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start within 90 s")
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=20)


def test_reader_notebook_reads_clean(browser, lab_url):
    """The first markdown cell shows its learning goals as a titled quote, no `:::`;
    the solutions are collapsed; no news pop-up asks for attention."""
    page = browser.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab_url}/lab/tree/{CHAPTER.name}")
        first = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown").first
        first.wait_for()
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
        text = first.inner_text()
        assert "Learning goals" in first.locator("blockquote strong").first.inner_text()
        assert first.locator("blockquote li").count() >= 3
        for raw in (":::", "{admonition}", ":class:", "{cite}", "{glue"):
            assert raw not in text, (raw, text)
        page.wait_for_timeout(2_000)  # the news question would pop up by now
        toasts = page.locator(".Toastify__toast").all_inner_texts()
        assert not any("news" in t.lower() for t in toasts), toasts
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "reader-lab.png"))
        # the last exercise's solution, near the end: a closed <details> (issue 25)
        outer = page.locator(".jp-WindowedPanel-outer").first
        hidden = page.locator(".jp-MarkdownCell details summary", has_text="Solution")
        for _ in range(40):  # scroll down until one is drawn (Lab draws cells in view only)
            if hidden.count():
                break
            outer.evaluate("el => { el.scrollTop += el.clientHeight / 2; }")
            page.wait_for_timeout(250)
        hidden.first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        assert page.locator(".jp-MarkdownCell details[open]").count() == 0
        assert not page.locator(".jp-MarkdownCell details pre").first.is_visible()
        page.screenshot(path=str(SHOTS / "reader-lab-solution.png"))
    except Exception:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "lab-failure.png"))
        raise
    finally:
        page.close()


def test_run_all_then_move_a_live_slider(browser, lab_url):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{lab_url}/lab/tree/{CHAPTER.name}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    # the kernel is up when the status bar says so
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
    page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    slider = page.locator(".jp-OutputArea .widget-slider").first
    try:
        slider.wait_for(state="attached", timeout=180_000)
        slider.scroll_into_view_if_needed()
        title = page.locator(".jp-OutputArea .js-plotly-plot .gtitle").first
        title.wait_for(timeout=60_000)
    except Exception:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "lab-failure.png"))
        raise
    before = title.text_content()
    assert "θ = 45°" in before, before
    readout = slider.locator(".widget-readout").first
    assert float(readout.text_content()) == 45
    traces = _TRACES  # the drawn figure's numbers: the data must move, not just the title
    data_before = page.evaluate(traces)
    page.evaluate(f"() => {{ window.dotbookBefore = ({traces})(); }}")
    # the keyboard alone drives it (issue 8): the handle is in the tab order, takes
    # the focus, says what it is, and steps with the arrow keys
    handle = slider.locator(".noUi-handle").first
    assert int(handle.get_attribute("tabindex") or -1) >= 0
    assert handle.get_attribute("role") == "slider"
    handle.focus()
    assert handle.evaluate("el => el === document.activeElement")
    page.keyboard.press("ArrowRight")
    # one step of 1°: the readout says 46 and the kernel redraws the figure's data
    page.wait_for_function(
        "() => { const t = document.querySelector('.jp-OutputArea .js-plotly-plot .gtitle');"
        " return t && t.textContent.includes('θ = 46°'); }", timeout=30_000)
    assert float(readout.text_content()) == 46
    assert float(handle.get_attribute("aria-valuenow")) == 46
    page.wait_for_function(f"() => ({traces})() !== window.dotbookBefore", timeout=30_000)
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    # nine more steps: the kernel recomputes the figure for each, ending at 55°
    page.wait_for_function(
        "() => { const t = document.querySelector('.jp-OutputArea .js-plotly-plot .gtitle');"
        " return t && t.textContent.includes('θ = 55°'); }", timeout=30_000)
    after = title.text_content()
    assert after != before and "aligned" in after, after
    assert float(readout.text_content()) == 55
    assert page.evaluate(traces) != data_before
    # the run left no error output anywhere
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
    assert page.locator("[data-mime-type='application/vnd.jupyter.error']").count() == 0
    page.close()
