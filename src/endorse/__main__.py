"""``python -m endorse``: the same as the ``endorse`` command."""

from endorse.cli import main

main()
