"""Printing a report to PDF with a headless Chromium, if one is installed.

No Python PDF library: the page's own print CSS (A4) is what Chromium prints, so the PDF and
the browser's print-out are the same document. The browser is found as ``FRONTDOOR_CHROMIUM``
(a path), else ``chromium``, ``chromium-browser``, ``google-chrome`` or ``google-chrome-stable``
on the ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from reports.errors import ReportError

__all__ = ["CHROMIUM_ENV", "find_chromium", "chromium_command", "write_pdf"]

CHROMIUM_ENV = "FRONTDOOR_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120


def find_chromium() -> str | None:
    """Path of a Chromium-family browser, or ``None``."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_command(browser: str, profile_dir: str | Path, *extra: str) -> list[str]:
    """The headless Chromium command line used here and by the browser test.

    Nothing is fetched (no background networking, component updates or sync) and a fresh
    profile is used. ``--no-sandbox`` is added only when running as root, where Chromium
    refuses to start with its sandbox.
    """
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile_dir}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")
    return cmd + list(extra)


def write_pdf(html_path: str | Path, pdf_path: str | Path | None = None) -> Path:
    """Print an HTML file to PDF (A4, from the page's print CSS) with headless Chromium.

    Raises
    ------
    ReportError
        When no Chromium is installed (saying how to install it), or printing fails.
    """
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path) if pdf_path is not None else html_path.with_suffix(".pdf")
    browser = find_chromium()
    if browser is None:
        raise ReportError(
            f"A PDF needs a headless Chromium, and none was found. Install it (Debian/Ubuntu: "
            f"'sudo apt-get install chromium') or set {CHROMIUM_ENV} to the browser's path. "
            f"The HTML report is at {html_path}: any browser can also print it to PDF."
        )
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="frontdoor-chromium-") as profile:
        cmd = chromium_command(
            browser,
            profile,
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={pdf_path.resolve()}",
            html_path.as_uri(),
        )
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ReportError(f"Chromium ({browser}) could not print {html_path} to PDF: {err}") from None
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise ReportError(f"Chromium ({browser}) could not print {html_path} to PDF: {tail[0]}")
    return pdf_path
