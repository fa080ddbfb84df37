"""The browser sign-in as the daemon runs it: the service, the link, the sign-in-needed list."""
