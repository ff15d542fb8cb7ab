"""Entry script of the frozen app: the same as ``python -m companion``."""

import sys

from companion.cli import main

if __name__ == "__main__":
    sys.exit(main())
