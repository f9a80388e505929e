"""The chat: the conversation view and its message widgets, the composer, Markdown
rendering, the chat controller (send, regenerate, edit, branches) and the engine session (the
model's thread: loads and turns as jobs)."""
