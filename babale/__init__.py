"""The `babale` command: the top layer, wiring every package below it."""
