"""Logging set-up: a rotating file in the log folder, and stderr when the process has one."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def ensure_std_streams() -> None:
    """Give a windowed build (``sys.stdout is None``) harmless streams so nothing crashes on them.

    PyInstaller's windowed builds and ``pythonw`` start with ``sys.stdout``/``sys.stderr`` set to
    None; uvicorn and ``print`` would then fail on first use.
    """
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def configure_logging(log_file: Path | None, level: str = "info", to_stderr: bool = True) -> None:
    """Send companion's log records to ``log_file`` (rotated at 2 MB, 5 kept) and to stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_companion", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    formatter = logging.Formatter(_FORMAT)
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
            )
        )
    if to_stderr and sys.stderr is not None:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._companion = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # uvicorn's per-request access log costs about a fifth of ingest throughput.
    logging.getLogger("uvicorn.access").disabled = True
