"""`python -m bench.uvloop_hub --config FILE serve`: the hub on uvloop, to measure whether it helps."""

import sys

import uvloop

from contactcenter.cli import main

if __name__ == "__main__":
    uvloop.install()
    sys.exit(main())
