"""``python -m brian_stdp``: the same as the ``brian-stdp`` command."""
import sys

from .cli import main

sys.exit(main())
