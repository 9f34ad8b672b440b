"""Skip policy for tests that need a system package (Chromium) outside the lock file.

On a developer machine a missing package skips the test, and the skip reason is the
apt-get line that installs it. With ``NEEDLEWATCH_CI=1`` (CI installs every package) the
same absence fails the test instead, so a broken CI image can never pass by skipping.

    from tests.needs import need_chromium

    def test_chart_png():
        need_chromium()
        ...
"""

from __future__ import annotations

import os

import pytest

CI_VARIABLE = "NEEDLEWATCH_CI"
CHROMIUM_FIX = "apt-get install -y chromium"


def in_ci() -> bool:
    """True when ``NEEDLEWATCH_CI=1``: missing system packages fail instead of skipping."""
    return os.environ.get(CI_VARIABLE, "").strip() == "1"


def need(available: bool, what: str, fix: str) -> None:
    """Skip the calling test (fail under ``NEEDLEWATCH_CI=1``) unless ``available``.

    ``what`` names the missing package, ``fix`` is the command that installs it.
    """
    if available:
        return
    reason = f"{what} is not installed: {fix}"
    if in_ci():
        pytest.fail(f"{reason} ({CI_VARIABLE}=1, so this fails instead of skipping)")
    pytest.skip(reason)


def need_chromium() -> None:
    """Chromium (or Chrome), which draws and prints report PDFs."""
    from dashboard.report.pdf import find_chromium

    need(find_chromium() is not None, "Chromium", CHROMIUM_FIX)
