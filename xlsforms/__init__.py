"""The PPKS and PSKS surveys for ODK Collect: XLSForms, build (pyxform + ODK Validate), deploy."""
