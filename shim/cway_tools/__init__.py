"""The tool layer both servers share: registration, the gateway to Cway, the one bearer rule, the tools."""
