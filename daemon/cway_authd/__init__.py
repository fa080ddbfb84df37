"""The cway-auth daemon: owns every secret (sign-in, token store, refresh, audit) behind an owner-only socket.

The shim never imports this package; see docs/architecture.md for the three rooms.
"""
