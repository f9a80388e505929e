"""The conversation sidebar: new chat, the list (rename, pin, delete, undo) and full-text
search results."""
