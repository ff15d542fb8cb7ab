"""Entry script of the frozen app: the same as ``python -m companion``."""

import multiprocessing
import sys

from companion.cli import main

if __name__ == "__main__":
    # A rebuild derives in worker processes: in the frozen app they start as this executable.
    multiprocessing.freeze_support()
    sys.exit(main())
