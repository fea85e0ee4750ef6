"""Log in to Superset with headless Chromium and screenshot dashboards; report chart states.

Run with Superset's interpreter (it has selenium) and Debian's chromium + chromedriver:

    .venv-superset/bin/python dashboards/screenshot.py --url http://127.0.0.1:8088 \
        --user admin --password-env SUPERSET_ADMIN_PASSWORD --lang en --out /tmp/shots city park

Prints one JSON object per dashboard: slug, language, png path, number of charts rendered, the
text of any chart that ended in an error state, and what a reader sees as text: per chart its
title, description, table cells and search-box placeholder, the filter bar and the notes. (Axis and
legend labels are drawn on a canvas: the tests read them from the chart-data API instead.)
Exit code 1 if any dashboard had an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = os.environ.get("NENGTAN_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NENGTAN_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1600,1400", "--lang=zh-CN"]

# What a chart looks like in the DOM of Superset 6 (dashboard grid).
_STATE_JS = """
const charts = Array.from(document.querySelectorAll('.dashboard-component-chart-holder'))
                    .filter(c => !(c.closest('.dashboard-markdown') || c.querySelector('.dashboard-markdown')));
const loading = document.querySelectorAll('.dashboard-component-chart-holder .loading').length;
const errors = charts.filter(c => c.querySelector('[role=alert], .ant-alert-error, [data-test=error-tooltip]'))
                     .map(c => c.innerText.slice(0, 300));
const rendered = charts.filter(c => c.querySelector('canvas, svg, table, .superset-legacy-chart-big-number, [class*=BigNumber], .header-line')).length;
const text = el => (el ? el.innerText.trim() : null);
const details = charts.map(c => ({
  title: text(c.querySelector('[data-test="editable-title"], .header-title, [data-test="slice-header"] .editable-title')),
  // the note above a chart that can be empty: a markdown in the chart's column
  description: text((c.closest('.grid-column') || document.createElement('div')).querySelector('.dashboard-markdown')),
  cells: Array.from(c.querySelectorAll('td')).map(td => td.innerText.trim()),
  headers: Array.from(c.querySelectorAll('th')).map(th => th.innerText.trim()),
  placeholders: Array.from(c.querySelectorAll('input[placeholder]')).map(i => i.placeholder),
  text: c.innerText.slice(0, 2000),
}));
const bar = document.querySelector('[data-test="filter-bar"], [data-test="dashboard-filters-panel"]');
const notes = Array.from(document.querySelectorAll('.dashboard-markdown'))
                   .filter(m => !m.closest('.grid-column')).map(m => m.innerText.trim());
return {charts: charts.length, loading: loading, errors: errors, rendered: rendered, details: details,
        filter_bar: text(bar), notes: notes};
"""


def driver(profile: str) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))


def login(drv: webdriver.Chrome, url: str, user: str, password: str, timeout: float = 60) -> None:
    drv.get(url.rstrip("/") + "/login/")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = drv.find_elements(By.CSS_SELECTOR, "input[name=username], input#username")
        if fields:
            break
        time.sleep(0.3)
    else:
        raise TimeoutError("login form did not appear")
    fields[0].send_keys(user)
    drv.find_element(By.CSS_SELECTOR, "input[name=password], input#password, input[type=password]").send_keys(
        password + "\n")
    while time.monotonic() < deadline:
        if "/login" not in drv.current_url:
            return
        time.sleep(0.3)
    raise TimeoutError(f"login as {user} did not leave the login page")


def set_language(drv: webdriver.Chrome, url: str, lang: str) -> None:
    """Superset keeps the UI language in the session: /lang/<code> sets it, as the flag menu does."""
    drv.get(f"{url.rstrip('/')}/lang/{lang}")
    time.sleep(1)


def shoot(drv: webdriver.Chrome, url: str, slug: str, out: Path, timeout: float = 90, lang: str = "zh") -> dict:
    drv.get(f"{url.rstrip('/')}/superset/dashboard/{slug}/")
    deadline = time.monotonic() + timeout
    state: dict = {}
    stable = 0
    while time.monotonic() < deadline:
        time.sleep(1)
        state = drv.execute_script(_STATE_JS)
        done = state["charts"] > 0 and state["loading"] == 0
        stable = stable + 1 if done else 0
        if stable >= 2:  # no spinner twice in a row: the charts have drawn
            break
    time.sleep(1)
    height = drv.execute_script("return document.body.scrollHeight")
    drv.set_window_size(1600, max(1000, min(int(height) + 100, 4000)))
    time.sleep(1)
    state = drv.execute_script(_STATE_JS)  # again, at the final size: every chart drawn
    png = out / f"{slug}-{lang}.png"
    drv.save_screenshot(str(png))
    return {"slug": slug, "lang": lang, "png": str(png), "title": drv.title, **state}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-env", default="SUPERSET_ADMIN_PASSWORD")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--lang", default="zh", choices=["zh", "en"], help="the UI language to read the dashboards in")
    ap.add_argument("slugs", nargs="+")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="nengtan-chromium-") as profile:
        drv = driver(profile)
        try:
            login(drv, args.url, args.user, os.environ[args.password_env])
            set_language(drv, args.url, args.lang)
            for slug in args.slugs:
                result = shoot(drv, args.url, slug, args.out, lang=args.lang)
                failed |= bool(result["errors"]) or result["charts"] == 0
                print(json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            drv.quit()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
