"""One module per command: runs it end to end (edges and core) and returns a Report."""
