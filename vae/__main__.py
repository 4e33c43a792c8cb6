"""`python -m vae …`: the package's command line."""

import sys

from vae.cli import main

sys.exit(main())
