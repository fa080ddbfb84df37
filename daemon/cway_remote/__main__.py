"""``python -m cway_remote``: the remote server, as ``cway-mcp-remote`` and ``cway-mcp serve`` start it."""

import sys

from cway_remote.serve import console_main

if __name__ == "__main__":
    sys.exit(console_main())
