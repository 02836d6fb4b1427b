"""``python -m modelcheck``: the same command line as the ``modelcheck`` script."""

from modelcheck.cli import main

main()
