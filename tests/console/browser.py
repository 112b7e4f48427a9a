"""A real browser for the console's tests: Debian's Chromium driven by its chromedriver.

`unavailable()` says why there is no browser here (None when there is one): no Chromium, no
chromedriver, or no selenium. `chromium(profile_dir)` starts a headless Chromium with the
flags that keep it off the network (no Selenium Manager download, no component updates, no
sync) and returns its Selenium driver. `screenshot(driver, name)` saves the whole page as
tests/console/screenshots/NAME.png (git ignores the folder).

LORAFIELD_CHROMIUM and LORAFIELD_CHROMEDRIVER name other binaries; a path that does not exist
makes the browser tests skip as they do on a machine without Chromium:

    LORAFIELD_CHROMIUM=/nonexistent .venv/bin/python -m pytest tests/console -rs
"""

import os
import shutil
from pathlib import Path

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ENV = "LORAFIELD_CHROMIUM"
CHROMEDRIVER_ENV = "LORAFIELD_CHROMEDRIVER"
INSTALL_HINT = (
    "install Debian's chromium and chromium-driver (.ci/run does) to run the browser tests"
)
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)
MAX_HEIGHT = 6000  # px: a screenshot of a longer page is cut there


def _program(env, default, name):
    """The binary `env` names, else `default` if it is there, else `name` on PATH; or None."""
    given = os.environ.get(env)
    if given:
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    if os.path.isfile(default) and os.access(default, os.X_OK):
        return default
    return shutil.which(name)


def programs():
    """(chromium, chromedriver): their paths, None for a missing one."""
    return (
        _program(CHROMIUM_ENV, "/usr/bin/chromium", "chromium"),
        _program(CHROMEDRIVER_ENV, "/usr/bin/chromedriver", "chromedriver"),
    )


def unavailable():
    """Why the browser tests cannot run here, in one line; None when they can."""
    chromium_path, driver_path = programs()
    if chromium_path is None:
        where = os.environ.get(CHROMIUM_ENV) or "/usr/bin/chromium or chromium on PATH"
        return f"no Chromium ({where}): {INSTALL_HINT}"
    if driver_path is None:
        where = os.environ.get(CHROMEDRIVER_ENV) or "/usr/bin/chromedriver or on PATH"
        return f"no chromedriver ({where}): {INSTALL_HINT}"
    try:
        import selenium.webdriver  # noqa: F401
    except ImportError as exc:
        return f"no selenium ({exc}): `make setup` installs it into .venv"
    return None


class BrowserUnavailable(Exception):
    pass


def chromium(profile_dir):
    """A headless Chromium's Selenium driver, its profile in `profile_dir` (a fresh folder);
    BrowserUnavailable saying why when there is none. The caller quits it."""
    reason = unavailable()
    if reason:
        raise BrowserUnavailable(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium_path, driver_path = programs()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path  # with the driver's path: no Selenium Manager
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    # An alert a page opened stays open for the test to find (the default dismisses it).
    options.unhandled_prompt_behavior = "ignore"
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(30)
    return driver


def screenshot(driver, name):
    """The whole page (up to MAX_HEIGHT px) as SCREENSHOTS/name.png; returns its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = driver.get_window_size()
    page, frame = driver.execute_script(
        "return [Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),"
        " window.outerHeight - window.innerHeight]"
    )
    try:
        # The window as tall as the page (and what the window itself takes) for one shot.
        height = max(size["height"], min(int(page), MAX_HEIGHT) + int(frame))
        driver.set_window_size(size["width"], height)
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return path
