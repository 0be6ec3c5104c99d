"""One module per command family; `babale.cli` imports each only when its command runs."""
