"""Tests of the Entra ID + Cway emulator itself."""
