"""The derivation as the executable runs it: compiled to C with mypyc.

``.ci/run`` compiles the package (``packaging/compile_derivation.py`` into ``build/compiled``)
for the executable, then runs the derivation's tests a second time against the compiled
modules, with ``COMPANION_EXPECT_COMPILED=1``. This test makes sure that second run really
imported the compiled modules (a checkout on ``sys.path`` before them would shadow them, and
the run would only repeat the Python one). From source it has nothing to check and skips.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

import pytest

from companion import selftest

COMPILED_PACKAGES = ("companion.derive", "companion.tickblock")

pytestmark = pytest.mark.skipif(
    not os.environ.get("COMPANION_EXPECT_COMPILED"),
    reason="runs against the compiled build only (.ci/run: COMPANION_EXPECT_COMPILED=1)",
)


def test_every_derivation_module_is_the_compiled_one() -> None:
    expected = []
    for package in COMPILED_PACKAGES:
        root = importlib.import_module(package)
        for found in pkgutil.iter_modules(root.__path__, package + "."):
            importlib.import_module(found.name)
            expected.append(found.name)
    assert expected, "no modules found"
    assert selftest.compiled_modules() == sorted(expected)
    assert selftest.check_compiled(selftest.Report()).ok


def test_the_rest_of_the_package_stays_python() -> None:
    import companion.pipeline.match_derivation as python_module

    assert python_module.__file__ is not None and python_module.__file__.endswith(".py")
