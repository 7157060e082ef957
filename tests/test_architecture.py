"""The import contracts in pyproject.toml ([tool.importlinter]) hold, and can fail.

The second test copies the project's packages, adds one wrong-way import and expects
lint-imports to refuse it: a contract that cannot fail would prove nothing.
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = CONFIG["root_packages"]
LAYERS = next(c["name"] for c in CONFIG["contracts"] if c["type"] == "layers")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH at `cwd`, so grimp reads that tree's packages and not the real ones.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_way", "expected"),
    [
        # At module level: the lowest layer reaching for the highest.
        ("core/money.py", "from invoicing import models  # noqa\n", "core.money -> invoicing"),
        # Inside a function, the hiding place these contracts were written against.
        (
            "customers/models.py",
            "def _hidden():\n    from tickets.models import Ticket  # noqa\n",
            "customers.models -> tickets.models",
        ),
    ],
)
def test_a_wrong_way_import_breaks_the_layers_contract(tmp_path, module, wrong_way, expected):
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a") as source:
        source.write("\n\n" + wrong_way)

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert f"{LAYERS} BROKEN" in result.stdout
    assert expected in result.stdout
