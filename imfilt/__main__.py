"""``python -m imfilt``: the command-line tool (see :mod:`imfilt.cli`)."""

import sys

from imfilt.cli import main

if __name__ == "__main__":
    sys.exit(main())
