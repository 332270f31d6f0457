"""``python -m convnet ...`` runs the ``convnet`` command."""
import sys

from .cli.main import main

sys.exit(main())
