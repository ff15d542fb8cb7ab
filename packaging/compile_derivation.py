"""Compile companion's derivation to C with mypyc, for the built executable.

    python packaging/compile_derivation.py             # build/compiled/: derivation compiled
    python packaging/compile_derivation.py --out DIR

The output folder holds a copy of the whole ``companion`` package in which the modules of
``COMPILED_PACKAGES`` (the pure derivation and the tick-block codec: no I/O, no threads, and
the rebuild's and the live worker's hottest code) are C extensions built from the very same
source, plus mypyc's runtime module beside the package. ``packaging/build.py`` ships those
extensions in place of the Python modules; with the folder first on ``PYTHONPATH`` the test
suite runs against them (``.ci/run`` does, for the derivation's tests).

Why these and not more: what they import is the standard library and orjson only (nothing of
companion outside them), so they compile without touching the rest, and every other module
keeps running as plain Python. Package ``__init__`` modules stay Python: they only re-export.

Needs mypy (``pip install -e '.[build]'``) and a C compiler (gcc or clang; MSVC Build Tools on
Windows). Without them this fails loudly; ``build.py --pure`` builds without compiling.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "compiled"
# Package folders whose modules are compiled (relative to the checkout).
COMPILED_PACKAGES = ("companion/derive", "companion/tickblock")
# A setup script of its own, run in the output folder: the checkout's pyproject.toml is for
# hatchling and must not be read by setuptools.
SETUP = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

setup(
    name="companion-compiled",
    ext_modules=mypycify(sys.argv.pop(1).split(","), opt_level="3", debug_level="0"),
)
"""


def say(line: str) -> None:
    sys.stdout.write(f"compile_derivation.py: {line}\n")
    sys.stdout.flush()


def compiled_sources(package_root: Path) -> list[str]:
    """The modules compiled, as paths relative to the output folder (sorted)."""
    sources = []
    for folder in COMPILED_PACKAGES:
        for path in sorted((package_root / folder).glob("*.py")):
            if path.name != "__init__.py":
                sources.append(path.relative_to(package_root).as_posix())
    return sources


def compile_package(out: Path = OUT) -> Path:
    """Copy the package into ``out`` and compile the derivation there; returns ``out``.

    Everything in ``out`` is made anew: a stale extension beside newer source would shadow it
    (Python imports an extension before a module of the same name)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(
        ROOT / "companion",
        out / "companion",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd"),
    )
    (out / "setup_compiled.py").write_text(SETUP, encoding="utf-8")
    sources = compiled_sources(out)
    say(f"compiling {len(sources)} modules with mypyc in {out}")
    began = time.monotonic()
    env = dict(os.environ, MYPY_FORCE_COLOR="0")
    command = [sys.executable, "setup_compiled.py", ",".join(sources), "build_ext", "--inplace"]
    done = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"compile_derivation.py: mypyc failed (exit {done.returncode}); see above")
    # mypyc's C sources, objects and type cache: the extensions are in place already.
    shutil.rmtree(out / "build")
    shutil.rmtree(out / ".mypy_cache", ignore_errors=True)
    (out / "setup_compiled.py").unlink()
    extensions = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if is_extension(p))
    if len([e for e in extensions if e.startswith("companion/")]) != len(sources):
        raise SystemExit(f"compile_derivation.py: {len(sources)} modules, but {extensions}")
    say(f"compiled in {time.monotonic() - began:.0f} s: {len(extensions)} extension modules")
    return out


def compiled_modules(out: Path) -> list[str]:
    """The dotted names of the companion modules compiled in ``out`` (sorted)."""
    return sorted(rel.removesuffix(".py").replace("/", ".") for rel in compiled_sources(out))


def is_extension(path: Path) -> bool:
    """A C extension module file of this Python (``.cpython-311-x86_64-linux-gnu.so``...)."""
    from importlib.machinery import EXTENSION_SUFFIXES

    return path.is_file() and any(path.name.endswith(s) for s in EXTENSION_SUFFIXES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args()
    compile_package(args.out.resolve())


if __name__ == "__main__":
    main()
