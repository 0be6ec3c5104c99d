"""The review app for Dinas Sosial (Flask)."""
