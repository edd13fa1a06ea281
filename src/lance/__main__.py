"""``python -m lance`` is the ``lance`` command."""

from lance.cli.main import main

main()
