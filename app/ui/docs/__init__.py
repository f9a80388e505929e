"""Document collections in the GUI: the Documents dialog (create, add files or folders, index
in the background with pause/resume/cancel, watch folders), the collections button that
attaches them to a chat, and the source panel a citation opens. ``DocsManager`` owns the
``app.docs.DocsLibrary`` and the indexing lane; the window wires it to the chat."""
