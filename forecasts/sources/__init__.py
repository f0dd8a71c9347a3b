"""Data that comes from outside the ledger: lookup tables, importers and exporters."""
