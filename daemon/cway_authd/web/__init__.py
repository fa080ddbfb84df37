"""The loopback TCP side: the OAuth callback and the accounts page (never a token)."""
