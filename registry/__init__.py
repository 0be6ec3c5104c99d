"""The district database of Babale and its rules. Imports neither Flask nor requests."""
