"""The `babale` command: wires xlsforms, registry, harvester and webapp together."""
