"""The only code that speaks a form server's HTTP: used by the harvester, deploy and write-back."""
