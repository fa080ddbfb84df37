"""``python -m cway_authd.cli``: the same as ``cway-auth`` (the shim's autostart uses it when no script is installed)."""

import sys

from cway_authd.cli import main

if __name__ == "__main__":
    sys.exit(main())
