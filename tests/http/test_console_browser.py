"""The console in a real browser: Debian's headless Chromium, driven by Selenium through chromedriver.

The receiver runs under uvicorn on a loopback port against the test Redis; the browser signs in,
opens every page (saving the screenshots the README shows), redrives a dead letter, watches the live
refresh bring in a new event, and has two cross-site POSTs refused: one from a page of another
origin, one with a forged CSRF token. The driver and browser paths are given explicitly, so that
Selenium Manager never downloads anything.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import uvicorn
from axe_selenium_python import Axe
from pytest_httpserver import HTTPServer
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from receiver.config import Config
from receiver.http.app import create_app
from receiver.wiring.connection import open_pipeline
from tests.support import ADMIN_TOKEN, ROOT, free_port
from tests.support.console import Scenario, console_config, event, seed
from tests.support.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The README's screenshots are rewritten only when asked (`make screenshots`); otherwise each run's go
# to the temporary directory, so that running the suite changes no committed file.
SCREENSHOTS = (
    ROOT / "receiver" / "console" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "videohooks-console-screenshots"
)

if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    if os.environ.get("CI", "").lower() not in ("true", "1"):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (make test installs them)",
            allow_module_level=True,
        )
    raise RuntimeError(f"CI is set but {CHROMIUM} or {CHROMEDRIVER} is missing: the browser tests must run")


@pytest.fixture
def config(prefix: str, redis_url: str, httpserver: HTTPServer) -> Config:
    return console_config(prefix, redis_url, httpserver.url_for("").rstrip("/"))


@pytest.fixture
def scenario(config: Config, redis_url: str) -> Scenario:
    return seed(config, redis_url)


@pytest.fixture
def receiver_url(config: Config, scenario: Scenario) -> Iterator[str]:
    """The app under uvicorn, in a thread of this process, on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1360,900"):
        options.add_argument(argument)
    # No network beyond loopback, no extensions, no first-run chatter.
    for argument in ("--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


# What an accessibility audit may not find on any page (axe-core's impact levels).
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def audit(browser: webdriver.Chrome, name: str) -> None:
    """axe-core over the page as shown: no serious or critical violation (contrast, labels, names)."""
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    blocking = [found for found in results["violations"] if found["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"{name}: {axe.report(blocking)}"


def shoot(browser: webdriver.Chrome, name: str) -> None:
    """Audit the page, then a PNG of its full height (up to 2400 px), for the README."""
    audit(browser, name)
    SCREENSHOTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1360, min(max(int(height) + 20, 600), 2400))
    assert browser.save_screenshot(str(SCREENSHOTS / f"{name}.png")), f"no screenshot of {name}"
    browser.set_window_size(1360, 900)


def text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def publish_one(config: Config, redis_url: str, task_id: str) -> None:
    async def run() -> None:
        async with open_pipeline(config, redis_url) as (_, pipeline):
            await pipeline.publisher.publish(
                event("openai-main", "openai", task_id, "queued", model="sora-2")
            )

    asyncio.run(run())


def test_console_in_a_browser(
    browser: webdriver.Chrome,
    receiver_url: str,
    scenario: Scenario,
    config: Config,
    redis_url: str,
    rclient: redis.Redis,
    prefix: str,
    httpserver: HTTPServer,
) -> None:
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))

    # Sign-in: a page behind the console sends the browser to the form.
    browser.get(f"{receiver_url}/console")
    wait.until(expected_conditions.url_to_be(f"{receiver_url}/console/login"))
    shoot(browser, "login")
    browser.find_element(By.ID, "token").send_keys("not-the-token")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait.until(lambda page: "That is not the admin token." in text(page))
    assert [entry["message"] for entry in browser.get_log("browser")] == [
        f"{receiver_url}/console/login - Failed to load resource: the server responded with a status of 401 "
        "(Unauthorized)"
    ]
    browser.find_element(By.ID, "token").send_keys(ADMIN_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait.until(expected_conditions.url_to_be(f"{receiver_url}/console/"))
    cookie = browser.get_cookie("videohooks_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: no script can read it

    # Overview.
    assert "veo-relay" in text(browser) and "openai-compatible" in text(browser)
    shoot(browser, "overview")

    # Latest events, with the live refresh the script adds.
    browser.get(f"{receiver_url}/console/events")
    live = wait.until(expected_conditions.visibility_of_element_located((By.ID, "live")))
    assert live.is_selected()
    assert "vid-7f3a" in text(browser)
    shoot(browser, "events")
    publish_one(config, redis_url, "video_live_1")
    wait.until(lambda driver: "video_live_1" in text(driver))
    logs = browser.get_log("browser")
    assert logs == [], logs  # no CSP violation, no script error, nothing missing

    # A task's timeline.
    browser.find_element(By.LINK_TEXT, "vid-7f3a").click()
    wait.until(expected_conditions.url_contains("/console/tasks/veo-relay/vid-7f3a"))
    body = text(browser)
    assert "queued" in body and "running" in body and "succeeded" in body
    assert "file:///var/videohooks/assets/veo-relay/vid-7f3a/0-video.mp4" in body
    shoot(browser, "task")

    # Watched tasks and token usage.
    browser.get(f"{receiver_url}/console/watched")
    assert "vid-watch-01" in text(browser)
    shoot(browser, "watched")
    browser.get(f"{receiver_url}/console/usage")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.output")
    shoot(browser, "usage")

    # Dead letters: the hostile body is shown as text, then one entry is redriven.
    browser.get(f"{receiver_url}/console/dlq")
    assert "<svg onload=alert(4)>" in text(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "main svg") == []
    shoot(browser, "dead-letters")
    browser.get(f"{receiver_url}/console/dlq/{scenario.redrivable_id}")
    shoot(browser, "dead-letter")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait.until(expected_conditions.url_to_be(f"{receiver_url}/console/dlq/redrive"))
    assert "accepted" in text(browser)
    shoot(browser, "redrive")
    redriven = rclient.hgetall(f"{prefix}:dlq:redriven")
    assert list(redriven) == [scenario.redrivable_id.encode()]

    # A forged CSRF token in a console page's own form: refused.
    browser.get(f"{receiver_url}/console/dlq/{scenario.hostile_id}")
    browser.execute_script("document.querySelector('main input[name=csrf]').value = '0'.repeat(64)")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait.until(lambda page: "missing or wrong CSRF token" in text(page))

    # A page of another origin POSTing to the console (the session cookie goes along: same site,
    # other port): refused on its Origin.
    httpserver.expect_request("/attack").respond_with_data(
        f"""<!doctype html><form method="post" action="{receiver_url}/console/dlq/redrive">
        <input type="hidden" name="entry_id" value="{scenario.hostile_id}">
        <button id="go" type="submit">win a prize</button></form>""",
        content_type="text/html",
    )
    browser.get(httpserver.url_for("/attack"))
    browser.find_element(By.ID, "go").click()
    wait.until(expected_conditions.url_to_be(f"{receiver_url}/console/dlq/redrive"))
    assert "cross-origin request refused" in text(browser)
    assert rclient.hgetall(f"{prefix}:dlq:redriven") == redriven

    # Sign-out ends the session in this browser.
    browser.get(f"{receiver_url}/console/")
    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait.until(expected_conditions.url_to_be(f"{receiver_url}/console/login"))
    browser.get(f"{receiver_url}/console/usage")
    assert browser.current_url == f"{receiver_url}/console/login"
