"""Every command in the README's bash blocks runs as written against a demo.

The demo's calendar (its last complete week 2026-W05, exports named by month) on a shorter run:
twelve weeks from Monday 10 November 2025, built once in a folder laid out as `frontdoor demo`
leaves it (``frontdoor-demo/exports``, ``frontdoor-demo/store``), with ``telephony/mappings``
beside it as in a clone of the repository. Install and test-suite lines are skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
SKIP = ("pip install", "python -m pytest", "python3 -m venv")


def readme_commands() -> list[str]:
    """The README's bash lines, in order (install and test lines left out)."""
    text = README.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#") and not any(s in line for s in SKIP):
                lines.append(line)
    return lines


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    from demand.simulation.demo import run_demo

    here = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
        run_demo(here / "frontdoor-demo", weeks=12, seed=1, start_date=dt.date(2025, 11, 10))
    (here / "telephony").mkdir()
    (here / "telephony" / "mappings").symlink_to(Path(__file__).resolve().parent.parent / "telephony" / "mappings")
    return here


def test_the_readme_has_the_examples_it_promises():
    cmds = readme_commands()
    assert any(c.startswith("frontdoor forecast") for c in cmds) and any(c.startswith("frontdoor staff") for c in cmds)
    assert not any(re.search(r"20(2[7-9])|2026-W(4|5)\d|2026-1[12]-", c) for c in cmds)  # the demo's weeks only


@pytest.mark.parametrize("line", readme_commands())
def test_a_readme_example_runs_as_written(line, demo_folder, monkeypatch):
    monkeypatch.chdir(demo_folder)
    monkeypatch.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    monkeypatch.setenv("FRONTDOOR_STORE", str(demo_folder / "frontdoor-demo" / "store"))
    args = shlex.split(line, comments=True)
    if args[0] == "export":
        name, _, value = args[1].partition("=")
        assert (demo_folder / value).resolve() == Path(os.environ[name]).resolve()
        return
    assert args[0] == "frontdoor", line
    res = CliRunner().invoke(main, args[1:])
    assert res.exit_code == 0, f"{line}\n{res.output}"
    assert "Traceback" not in res.output and res.stdout.strip()
