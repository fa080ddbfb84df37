"""The sign-in core the daemon and the remote server share: the token record and its encryption, the Entra and Cway exchanges, their error classes."""
