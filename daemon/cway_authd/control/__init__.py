"""The owner-only Unix socket: its API, its guards, and the socket decisions."""
