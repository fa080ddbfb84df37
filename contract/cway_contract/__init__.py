"""What the daemon, the shim and the CLI share: configuration, the clock, the socket contract.

Kept free of FastAPI, uvicorn and APScheduler so that the shim starts fast.
"""

__version__ = "0.1.0"
