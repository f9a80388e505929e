"""The desktop GUI (PySide6): the only package that imports Qt widgets.

By feature (the import-linter contract "app.ui by feature" in pyproject.toml keeps it so):
``launch`` starts the app, ``window`` is the main window that wires the features together,
``chat`` (the conversation and its replies), ``conversations`` (the sidebar) and ``models`` (the
model manager's pages) never import each other, and ``common`` holds what they share (the job
layer, the notice bridge, the theme, small widgets). See docs/architecture.md.
"""
