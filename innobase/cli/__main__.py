"""`python -m innobase.cli`: the same as the installed `innobase` command."""
import sys

from innobase.cli import main

sys.exit(main())
