"""CLI command groups beyond the ledger's own, one module per area.

Each module defines ``register(app)`` and imports only typer and the standard library at
module level, so that registering them costs nothing at start-up; the heavy imports happen
inside the command bodies.
"""
