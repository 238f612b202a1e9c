"""`python -m aihpc` runs the CLI."""

from aihpc.cli.main import main

if __name__ == "__main__":
    main()
