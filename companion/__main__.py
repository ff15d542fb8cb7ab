import sys

from companion.cli import main

# Guarded: a rebuild's worker processes import this module again, and must not run the app.
if __name__ == "__main__":
    sys.exit(main())
