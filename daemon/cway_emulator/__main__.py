"""``python -m cway_emulator``: run the emulator until Ctrl-C and print the env to use it.

The ``export`` lines go to stdout (so ``eval "$(python -m cway_emulator ...)"``-style use is
possible); everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from cway_emulator.emulator import DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI
from cway_emulator.fixtures import STATIC_TOKENS
from cway_emulator.server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cway_emulator", description=__doc__)
    parser.add_argument("--idp-port", type=int, default=0, help="IdP port (default: a free one)")
    parser.add_argument("--cway-port", type=int, default=0, help="Cway backend port (default: a free one)")
    parser.add_argument("--auto-approve", action="store_true", help="skip the sign-in form")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help=f"register a redirect URI (repeatable; default {DEFAULT_REDIRECT_URI})",
    )
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the daemon's public client id")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    server = EmulatorServer(
        idp_port=args.idp_port,
        cway_port=args.cway_port,
        auto_approve=args.auto_approve,
        client_id=args.client_id,
        redirect_uris=args.redirect_uri or [DEFAULT_REDIRECT_URI],
    )
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        for key, value in server.env().items():
            print(f"export {key}={value}", flush=True)
        print(f"# Cway base URL: {server.cway_base_url}  (admin: {server.cway_base_url}/_emulator/knobs)",
              file=sys.stderr)  # fmt: skip
        print(f'# AUTH_FLOW=direct: export AUTH_FLOW=direct AZURE_SCOPES="openid profile email {server.cway_api_scope}"',
              file=sys.stderr)  # fmt: skip
        users = ", ".join(sorted(STATIC_TOKENS.values()))
        print(f"# users: alice/bob/dave/admin @contoso.example (carol: not in Cway); static tokens for {users}",
              file=sys.stderr)  # fmt: skip
        print("# Ctrl-C to stop", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
