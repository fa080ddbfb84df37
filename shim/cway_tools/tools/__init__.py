"""The Cway tools, one module per working area; registered through cway_tools.registry."""
