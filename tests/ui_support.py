"""The workbench in a real browser: a real ``yunying serve`` process and Debian's chromium,
driven by Playwright (Python) with ``executable_path`` — no browser download.

Fixtures (used by tests/test_ui_*.py, marker ``ui``, ``make test-ui``):

* ``ui_server`` — a demo workbench store (tests/web_support.py) served by ``yunying serve`` on
  a free port of 127.0.0.1, for the whole session;
* ``browser`` — chromium, headless, with the network flags a closed machine needs;
* ``page_for(login, locale)`` — a signed-in page; every console error or uncaught exception
  of the page fails the test (pages must work offline and quietly);
* ``shot(page, name)`` — a full-page screenshot in ``artifacts/ui/`` (kept by CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from web_support import PASSWORD, Workbench

from bench.ingest.server import free_port

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "ui"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    found = os.environ.get("YUNYING_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: run 'make test-ui' (it installs Debian's chromium)")
    return found


class UiServer:
    def __init__(self, bench: Workbench, port: int, process: subprocess.Popen[bytes]) -> None:
        self.bench, self.port, self.process = bench, port, process
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    bench = Workbench.build(tmp_path_factory.mktemp("ui"), users=600, days=35)
    port = free_port()
    log = (tmp_path_factory.getbasetemp() / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "yunying", "serve", "--db", str(bench.path),
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    server = UiServer(bench, port, process)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(server.url + "/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("yunying serve did not start; see " + log.name)
        time.sleep(0.2)
    yield server
    process.terminate()
    process.wait(20)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page_for(browser: object, ui_server: UiServer) -> Iterator[Callable[..., object]]:
    contexts: list[object] = []
    problems: list[str] = []

    def open_page(login: str | None = "demo", locale: str = "en-US") -> object:
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 900},  # type: ignore[attr-defined]
                                      accept_downloads=True, base_url=ui_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 and r.request.resource_type != "document" else None)
        if login:
            page.goto("/login")
            page.fill("input[name=login]", login)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/p/**")
        return page

    open_page.problems = problems  # type: ignore[attr-defined]  (a test may remove one it expects)
    yield open_page
    for context in contexts:
        context.close()  # type: ignore[attr-defined]
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot as artifacts/ui/<name>.png (CI keeps the folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
