"""The daemon's peer check uses the one implementation shared with the client (``cway_contract.peercred``)."""

from cway_contract import PeerCredentials, PeerCredentialsUnavailable, peer_credentials

__all__ = ["PeerCredentials", "PeerCredentialsUnavailable", "peer_credentials"]
