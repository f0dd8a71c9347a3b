"""The append-only ledger: store, migrations and the integrity chain."""

from forecasts.ledger.store import Ledger, default_path

__all__ = ["Ledger", "default_path"]
