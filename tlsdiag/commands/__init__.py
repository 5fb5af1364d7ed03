"""One module per command: runs it end to end by calling the edges and core, returns a Report."""
