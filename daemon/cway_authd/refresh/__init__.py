"""How a signed-in account stays signed in: the due-time schedule, the engine, the background job."""
