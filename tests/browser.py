"""Helpers for the real-browser tests: Debian's chromium driven by Selenium through Debian's
chromium-driver (nothing downloads a browser), and the app served by a real uvicorn on a loopback
port in this process.

``browser_missing()`` says why the tests must skip (no selenium, no chromium, no driver).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from companion.server import ServerThread, bind_socket
from companion.services import Services
from companion.web.app import create_app

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver",)
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def _first(paths: tuple[str, ...], name: str) -> str | None:
    for path in paths:
        if Path(path).exists():
            return path
    return shutil.which(name)


def chromium_binary() -> str | None:
    return _first(CHROMIUM_CANDIDATES, "chromium")


def chromedriver_binary() -> str | None:
    return _first(DRIVER_CANDIDATES, "chromedriver")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    if chromium_binary() is None:
        return "Debian's chromium is not installed (apt-get install chromium chromium-driver)"
    if chromedriver_binary() is None:
        return "chromium-driver is not installed (apt-get install chromium-driver)"
    return None


@contextlib.contextmanager
def served(services: Services) -> Iterator[str]:
    """Serve the app with a real uvicorn on 127.0.0.1 (a free port); yields its base URL."""
    server = ServerThread(create_app(services), bind_socket(0))
    services.port = server.port
    server.start()
    try:
        yield services.base_url
    finally:
        server.stop()


def make_driver(width: int = 1280, height: int = 900) -> Any:
    """A headless chromium that records the console (read with ``console_errors``).

    The viewport is set by device emulation: headless chromium will not make a window narrower
    than 500 px, and a phone is narrower.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary() or ""
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        "--window-size=1280,900",
        "--lang=en-GB",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=chromedriver_binary() or "")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    set_viewport(driver, width, height)
    driver.viewport = (width, height)
    return driver


def set_viewport(driver: Any, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def console_errors(driver: Any) -> list[str]:
    """Console messages at error level since the last call (the log is drained by reading)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: Any, name: str) -> Path:
    """Save the whole page (the viewport stretched to its height) in ``artifacts/screenshots``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width, height = driver.viewport
    full = int(driver.execute_script("return document.documentElement.scrollHeight"))
    set_viewport(driver, width, max(full, height))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    set_viewport(driver, width, height)
    return path


FOCUSABLE = """
return Array.from(document.querySelectorAll(
  'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])'
)).filter(el => !el.disabled && el.type !== 'hidden' && el.getClientRects().length > 0
  && getComputedStyle(el).visibility !== 'hidden');
"""


def tab_through(driver: Any, controls: list[Any]) -> list[Any]:
    """Press Tab until every control was focused once, or far more often than there are
    controls (a date field takes one Tab per part)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    reached: list[Any] = []
    for _ in range(len(controls) * 4 + 5):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        reached.append(driver.switch_to.active_element)
        if all(control in reached for control in controls):
            break
    return reached
