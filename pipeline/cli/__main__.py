"""``python -m citeline.pipeline.cli``: the ``citeline`` command."""

import sys

from citeline.pipeline.cli import main

sys.exit(main())
