"""Reports as users see them in JupyterLab: a real JupyterLab server, a notebook with failing
cells run from the page in headless Chromium (the system's: Debian's chromium and
chromium-driver), and checks on the rendered page, in the light and the dark theme.

Checked from the page's geometry: the gutter's line numbers and markers end before the code
starts on every row, nothing in a report reaches past its cell, and the Wrong/Right examples
show every character (no horizontal scrolling), side by side or stacked. Screenshots of each
theme and width are kept in build/screenshots/ (the path is printed): the first report, and
the pitfall's second, brief, report.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

CELLS = [
    "%load_ext torchmagic\n%config TorchMagic.language = 'en'",
    # the shape error in an nn.Sequential, with more than nine lines (two-digit gutter)
    "%%torchdebug\nimport torch\nfrom torch import nn\n\n# a small classifier\n"
    "model = nn.Sequential(\n    nn.Linear(20, 64),\n    nn.ReLU(),\n    nn.Linear(32, 10),\n)\n"
    "images = torch.randn(8, 20)\nlogits = model(images)",
    # a pitfall whose examples have long commented lines
    "%%torchdebug\nimport torch\nfeatures = torch.randn(4, 3, dtype=torch.float64)\n"
    "layer = torch.nn.Linear(3, 2)\nout = layer(features)",
    # the first pitfall again: the brief report, sections folded
    "%%torchdebug\nimport torch\nfrom torch import nn\nmodel = nn.Sequential(nn.Linear(20, 64), "
    "nn.ReLU(), nn.Linear(32, 10))\nlogits = model(torch.randn(8, 20))",
]

# the notebook on show (a page can hold other, hidden, notebook panels)
NOTEBOOK = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook')"

GEOMETRY = r"""
const out = {reports: 0, rows: 0, overlaps: [], overflows: [], cut: [], examples: 0, errors: []};
for (const area of NOTEBOOK.querySelectorAll('.jp-Cell .jp-OutputArea')) {
  const box = area.getBoundingClientRect();
  for (const err of area.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')) {
    out.errors.push(err.innerText.trim().split('\n').length);
  }
  for (const report of area.querySelectorAll('.jp-RenderedHTMLCommon > div')) {
    out.reports += 1;
    // the report never scrolls sideways as a whole...
    if (report.scrollWidth > report.clientWidth + 1) {
      out.overflows.push(['report', report.scrollWidth, report.clientWidth]);
    }
    // ...and nothing in it reaches past the cell, except inside a box of its own that
    // scrolls (a long code line in the listing, a wide table in a narrow output)
    const scrolls = el => {
      for (let p = el.parentElement; p && p !== report; p = p.parentElement) {
        if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
      }
      return false;
    };
    for (const el of [report, ...report.querySelectorAll('*')]) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > box.right + 1 && !scrolls(el)) {
        out.overflows.push([el.tagName, el.innerText.slice(0, 30), Math.round(r.right), Math.round(box.right)]);
      }
    }
    for (const gutter of report.querySelectorAll('[data-gutter]')) {
      const n = gutter.getAttribute('data-gutter');
      const code = report.querySelector(`[data-code="${n}"]`);
      const number = gutter.querySelector('[data-line]');
      const g = gutter.getBoundingClientRect(), c = code.getBoundingClientRect();
      const num = number.getBoundingClientRect();
      out.rows += 1;
      // the gutter's own box and what it draws (marker, number) end before the code begins
      // and the row reads as number, space, code ("11 logits", not "11logits")
      const text = gutter.parentElement.innerText;
      if (g.right > c.left + 0.5 || num.right > c.left - 2 || gutter.scrollWidth > gutter.clientWidth + 1
          || !new RegExp(`^\\D*${n}\\s`).test(text)) {
        out.overlaps.push([n, text.slice(0, 20), Math.round(num.right), Math.round(g.right), Math.round(c.left)]);
      }
    }
    for (const pre of report.querySelectorAll('pre[data-snippet]')) {  // Wrong/Right examples
      out.examples += 1;
      if (pre.scrollWidth > pre.clientWidth + 1 || !pre.getBoundingClientRect().width) {
        out.cut.push([pre.innerText.slice(0, 40), pre.scrollWidth, pre.clientWidth]);
      }
      // a wrapped example line breaks at a space, not inside a name ("dtype=tor|ch.float32")
      for (const line of pre.querySelectorAll(':scope > span')) {
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        let top = null, previous = ' ';
        while (walker.nextNode()) {
          const node = walker.currentNode;
          for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (rect) {
              if (top !== null && rect.top > top + 2 && /\w/.test(previous) && /\w/.test(node.data[i])) {
                out.cut.push(['word broken', line.innerText.slice(0, 60)]);
              }
              top = rect.top;
            }
            previous = node.data[i];
          }
        }
      }
    }
  }
}
return out;
""".replace("NOTEBOOK", NOTEBOOK)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _skip_reason() -> str | None:
    if not CHROMIUM or not CHROMEDRIVER:
        return "needs Chromium and its driver (Debian: apt-get install chromium chromium-driver)"
    for module in ("selenium", "jupyterlab", "nbformat"):
        try:
            __import__(module)
        except ImportError:
            return f"needs {module} (pip install -e '.[browser]'; `make test` does it where Chromium is)"
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free local port, no token, settings of its own; yields
    (base url, notebook folder, settings folder)."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab")
    notebooks, settings = base / "notebooks", base / "settings"
    notebooks.mkdir()
    for name, values in {
        # every cell laid out (no windowing), no news or update checks (no network here)
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
    }.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), JUPYTER_CONFIG_DIR=str(base / "config"))
    port = _free_port()
    log = open(base / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.news_url=", "--LabApp.extension_manager=readonly", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=notebooks)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((base / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, notebooks, settings
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
                 "--window-size=1200,1800", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _write_notebook(folder: Path, name: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, folder / name)


def _wait(driver, script: str, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / "jupyterlab-timed-out.png"))
    raise AssertionError(f"timed out waiting for {what} (page: {SCREENSHOTS}/jupyterlab-timed-out.png)")


def _open_and_run(driver, url: str, name: str, theme: str) -> None:
    """Open the notebook in JupyterLab and run its cells one by one from the keyboard
    (Shift+Enter runs a cell and moves on, also past a failed one)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    # a workspace of its own, reset: only this notebook open
    driver.get(f"{url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset")
    _wait(driver, f"const nb = {NOTEBOOK}; return nb && nb.querySelectorAll('.jp-CodeCell').length",
          120, "the notebook")
    _wait(driver, "return document.body.dataset.jpThemeName", 60, "the theme")
    assert driver.execute_script("return document.body.dataset.jpThemeName") == theme
    _wait(driver, "const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
                  "return s && s.getAttribute('data-status') === 'idle'", 120, "an idle kernel")
    prompt = NOTEBOOK + ".querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')[{}].innerText"
    active = (f"return [...{NOTEBOOK}.querySelectorAll('.jp-Cell')]"
              ".findIndex(c => c.classList.contains('jp-mod-active'))")
    started = "return /\\[(\\d+|\\*)\\]/.test({})"
    for i in range(len(CELLS)):  # the first cell is active, the notebook in command mode
        for _ in range(10):  # a key press sent while the page is still busy can be lost, or move on unrun
            if driver.execute_script(started.format(prompt.format(i))):
                break
            if driver.execute_script(active) != i:  # select the cell again: click its prompt
                element = driver.execute_script(
                    f"return {NOTEBOOK}.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')[{i}]")
                ActionChains(driver).click(element).perform()
                time.sleep(0.5)
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
            time.sleep(2)
        _wait(driver, f"return /\\[\\d+\\]/.test({prompt.format(i)})", 180, f"cell {i} to run")
    _wait(driver, "const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
                  "return s && s.getAttribute('data-status') === 'idle'", 120, "the kernel to finish")
    time.sleep(1.0)  # outputs and fonts settle


def _set_theme(settings: Path, theme: str) -> None:
    path = settings / "@jupyterlab/apputils-extension/themes.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"theme": theme}))


@pytest.mark.parametrize("theme, width", [("JupyterLab Light", 1200), ("JupyterLab Dark", 1200),
                                          ("JupyterLab Light", 760)])
def test_reports_in_jupyterlab_keep_gutter_and_code_apart_and_inside_the_cell(lab, browser, theme,
                                                                              width):
    url, notebooks, settings = lab
    _set_theme(settings, theme)
    name = f"reports-{theme.split()[-1].lower()}-{width}.ipynb"
    _write_notebook(notebooks, name)
    browser.set_window_size(width, 1800)
    _open_and_run(browser, url, name, theme)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"jupyterlab-{theme.split()[-1].lower()}-{width}.png"
    browser.execute_script(f"{NOTEBOOK}.querySelectorAll('.jp-CodeCell')[1].scrollIntoView()")
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    browser.execute_script(f"{NOTEBOOK}.querySelectorAll('.jp-CodeCell')[3].scrollIntoView()")
    browser.save_screenshot(str(shot.with_name(shot.stem + "-again.png")))  # the brief report
    # as rendered: the first reports' sections open, the pitfall seen again folded
    folds = browser.execute_script(
        f"return [...{NOTEBOOK}.querySelectorAll('.jp-RenderedHTMLCommon > div')].map(r => "
        "[...r.querySelectorAll('details')].filter(d => !d.open)"
        ".map(d => d.querySelector('summary').innerText.trim()))")
    assert folds == [["Traceback"], ["Traceback"],
                     ["What happened", "Why", "Example", "Docs", "Traceback"]], folds
    # then every fold opened, as a user reading all of it would
    browser.execute_script(f"{NOTEBOOK}.querySelectorAll('.jp-OutputArea details')"
                           ".forEach(d => {{ d.open = true; }})")
    time.sleep(0.5)
    found = browser.execute_script(GEOMETRY)
    assert found["reports"] == 3, found  # one report per failing cell
    assert found["rows"] == 11 + 4 + 4, found  # every numbered row of the three listings
    assert not found["overlaps"], found["overlaps"]
    assert not found["overflows"], found["overflows"]
    assert found["examples"] == 6 and not found["cut"], found["cut"]
    # each failed cell ends with the one-line error, not a traceback
    errors = browser.execute_script(
        f"return [...{NOTEBOOK}.querySelectorAll('.jp-OutputArea-output"
        "[data-mime-type=\"application/vnd.jupyter.stderr\"]')].map(e => e.innerText.trim())")
    assert len(errors) == 3 and all("%tb shows the full traceback" in e and "\n" not in e
                                    for e in errors), errors
