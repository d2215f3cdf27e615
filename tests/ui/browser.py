"""A thin Playwright wrapper for driving the Dagster UI in Debian's Chromium.

Every wait that times out fails the test with a screenshot and the page text, so a
broken step can be read from the test artifacts without rerunning it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# No background networking: this machine's closed network refuses those connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class UiDriver:
    def __init__(self, page, base_url: str, artifacts: Path) -> None:  # page: playwright Page
        self.page = page
        self.base_url = base_url
        self.artifacts = artifacts
        self.step = 0

    def open(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("domcontentloaded")
        self.dismiss_onboarding()

    def dismiss_onboarding(self, wait_ms: int = 4000) -> None:
        """Close the "Join the Dagster community" dialog that a fresh profile shows once."""
        skip = self.page.get_by_role("button", name="Skip")
        try:
            skip.first.wait_for(state="visible", timeout=wait_ms)
        except Exception:  # not shown (anymore): nothing to dismiss
            return
        skip.first.click()

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.artifacts / f"{self.step:02d}_{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def text(self) -> str:
        return self.page.inner_text("body")

    def wait_until(
        self,
        condition: Callable[[], bool],
        what: str,
        timeout: float = 60.0,
        reload_every: float | None = None,
    ) -> None:
        """Poll ``condition``; reload the page every ``reload_every`` seconds (for server-side changes)."""
        deadline = time.monotonic() + timeout
        last_reload = time.monotonic()
        while time.monotonic() < deadline:
            # The page may be mid-navigation when polled; a failed look just means "not yet".
            with contextlib.suppress(Exception):
                if condition():
                    return
            if reload_every is not None and time.monotonic() - last_reload > reload_every:
                self.page.reload()
                self.dismiss_onboarding(wait_ms=500)
                last_reload = time.monotonic()
            self.page.wait_for_timeout(500)
        screenshot = self.shot("timeout_" + re.sub(r"\W+", "_", what)[:40])
        pytest.fail(
            f"timed out after {timeout:.0f} s waiting for {what}; "
            f"screenshot {screenshot}\n{self.text()[:3000]}"
        )

    def wait_for_text(self, text: str, timeout: float = 60.0, reload_every: float | None = None) -> None:
        self.wait_until(lambda: text in self.text(), f"text {text!r}", timeout, reload_every)

    def wait_for_image(self, alt: str, timeout: float = 30.0) -> int:
        """Wait until the visible image with this alt text has loaded; its natural width in pixels.

        A broken or refused ``src`` leaves ``naturalWidth`` at 0 once ``complete``: the <img>
        element is there, the figure is not.
        """
        image = self.page.locator(f'img[alt="{alt}"]').filter(visible=True).first
        width = 0

        def loaded() -> bool:
            nonlocal width
            width = image.evaluate("img => (img.complete ? img.naturalWidth : 0)", timeout=1000)
            return width > 0

        self.wait_until(loaded, f"image {alt!r} to load", timeout)
        return width
