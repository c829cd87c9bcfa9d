"""Allow `python -m rabb_cli`."""

from rabb_cli.cli import main

main()
