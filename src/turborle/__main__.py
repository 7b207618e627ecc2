"""``python -m turborle``: the command line (:mod:`turborle.cli`)."""

import sys

from turborle.cli import main

if __name__ == "__main__":
    sys.exit(main())
