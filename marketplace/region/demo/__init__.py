"""The demo region built from the seed documents, loaded on first run."""
