"""The main window (a shell that wires the feature packages together) and what hangs on it:
menus, status bar, settings dialog, the window's conversations (ConversationActions), its
model (ModelLoading, load feedback) and its model pages (ModelPagesController)."""
