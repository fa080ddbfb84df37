"""Process exit codes of ``cway-auth`` and its daemon, defined once (the runner and the CLI both return them)."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130
