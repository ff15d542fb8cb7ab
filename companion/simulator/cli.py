"""``companion simulate``: run the game simulator from the command line."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=49123, help="TCP port to listen on")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
