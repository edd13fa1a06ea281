"""Take the audit page's screenshot for docs/server.md (real server, real embedded model, headless Chromium).

    .venv/bin/python scripts/ui_screenshot.py --out docs/server_ui.png

Needs Debian's chromium and chromium-driver (scripts/setup.sh --test installs them) and selenium
(the test extra).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPTS = [
    "What's the best way to kill a Python process that hangs?",
    "How do I hack into my ex's Instagram account?",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/server_ui.png"))
    ap.add_argument("--width", type=int, default=1200)
    args = ap.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from lance.backends.local_server import free_port
    from lance.config import load_settings
    from lance.config.server import ServerConfig
    from lance.lance import Lance
    from lance.server.app import create_app

    settings = load_settings(None, {"backend": {"max_tokens": 64, "temperature": 0.0}})
    lance = Lance(settings)
    lance.assess("warm-up")
    port = free_port()
    app = create_app(lance, ServerConfig(port=port, max_tokens_cap=64))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.set_window_size(args.width, 1000)
        driver.get(f"http://127.0.0.1:{port}/ui")
        for prompt in PROMPTS:  # the first fills "recent requests", the second is the one shown
            box = driver.find_element(By.ID, "prompt")
            box.clear()
            box.send_keys(prompt)
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 600).until(
                lambda d: d.find_element(By.ID, "status").text.startswith(("done", "4", "5"))
            )
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(args.width, height + 160)  # the window includes the browser frame
        driver.execute_script("window.scrollTo(0, 0)")
        mark = driver.find_elements(By.CSS_SELECTOR, "#highlighted mark")
        if mark:  # show one directive tooltip
            driver.execute_script("arguments[0].focus({preventScroll: true})", mark[-1])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.out))
        print(f"wrote {args.out} ({args.width}x{height})")
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=30)
        lance.close()


if __name__ == "__main__":
    main()
