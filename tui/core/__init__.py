"""The domain both the console and the service share: shapes, taxonomy, rules, settings files.

Nothing here imports another tui package (docs/architecture.md, the import contracts in
pyproject.toml).
"""
