"""Package data: icons, desktop entry, themes, model catalogue, default prompts."""
