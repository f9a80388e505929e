"""The model manager's pages (over ``app.models``): first run (download, import, build),
the installed models and their load settings, the Hub search dialog, the download queue and
its controls, the build panel."""
