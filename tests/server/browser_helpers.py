"""A real headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by selenium, for the audit page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Long enough for a full pipeline run (several refiner calls) on a busy 2-core machine.
PIPELINE_WAIT_S = 600


def chromium() -> Any:
    """A fresh headless Chromium; fails (not skips) when the browser is missing, with the fix."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not shutil.which("chromedriver"):
        pytest.fail("the audit page tests need Debian's chromium and chromium-driver: run `bash scripts/setup.sh --test`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,1000"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)


def open_page(driver: Any, url: str, key: str | None = None) -> None:
    """Load ``/ui`` afresh (no key remembered from an earlier test) and wait until its first fetch is done."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/ui")
    driver.execute_script("sessionStorage.clear()")
    if key is not None:
        driver.execute_script("sessionStorage.setItem('lance-audit-key', arguments[0])", key)
    driver.refresh()
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.LanceAudit && window.LanceAudit.ready"))
