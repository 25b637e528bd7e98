"""``python -m torchmagic SCRIPT [ARGS...]``: run a script under torchmagic's diagnosis."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
