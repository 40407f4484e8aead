"""Built-in generic connectors: files in and out of folders, and JSON over HTTP POST."""
