"""The README's screenshots (docs/screenshots/*.png), taken from the state `make demo` leaves.

Starts the service (`bentoml serve`) and the app (`streamlit run ui/app.py`) on free loopback ports over the
active stack's stores, opens each page in Debian's headless Chromium, writes one PNG per page and stops
both processes by their pids. From the repository root: `make screenshots` (= `python -m scripts.screenshots`),
after `make demo`.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import httpx

from tasador.configs import REPO_ROOT as ROOT
from tasador.env import quiet_environment
from tasador.services.processes import start_process, stop_process, wait_until
from ui.screens import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, open_page, wait_rendered

OUT = ROOT / "docs" / "screenshots"
START_TIMEOUT_S = 300  # the service loads the production model, the app imports MLflow: a busy machine is slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def start(name: str, argv: list[str], env: dict[str, str], ready_url: str, state_dir: Path) -> None:
    start_process(name, argv, env, state_dir)
    wait_until(lambda: answers(ready_url), name=name, label=name, state_dir=state_dir, timeout_s=START_TIMEOUT_S)


def take(app_url: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    # (file, path, the page's title, a heading that shows once its content has loaded, whether it has a chart)
    pages = [
        ("predict", "", "Predict a price", "Why this price", True),
        ("models", "/models", "Models", "Production metrics over batches", True),
        ("batches", "/batches", "Batches", "Drift per feature", False),
        ("monitoring", "/monitoring", "Monitoring", "Served traffic", True),
        ("explainability", "/explainability", "Explainability", "Global importance", True),
    ]
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, path, title, loaded, chart in pages:
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(90_000)
                open_page(page, app_url + path, title)
                if name == "predict":
                    page.get_by_role("button", name="Predict").click()
                page.get_by_role("heading", name=loaded).wait_for()
                if chart:
                    page.get_by_test_id("stVegaLiteChart").first.wait_for()
                wait_rendered(page)
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                written.append(OUT / f"{name}.png")
                page.close()
        finally:
            browser.close()
    return written


def main() -> int:
    quiet_environment()
    if not CHROMIUM.exists():
        print(f"Chromium not found at {CHROMIUM}: `make system-deps` (as root) installs it.")
        return 1
    from stacks.resolve import active_settings

    settings = active_settings()
    state_dir = settings.home_dir / "screenshots"
    service_port, app_port = free_port(), free_port()
    service_url, app_url = f"http://127.0.0.1:{service_port}", f"http://127.0.0.1:{app_port}"
    env = {**os.environ, "TASADOR_SERVING_URL": service_url}
    service = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(service_port)]
    app = [
        sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.address", "127.0.0.1",
        "--server.port", str(app_port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    os.chdir(ROOT)
    try:
        start("service", service, env, f"{service_url}/ready", state_dir)
        start("app", app, env, f"{app_url}/_stcore/health", state_dir)
        for path in take(app_url):
            print(f"wrote {path.relative_to(ROOT)}")
    finally:
        for name in ("app", "service"):
            stop_process(state_dir, name, timeout_s=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
