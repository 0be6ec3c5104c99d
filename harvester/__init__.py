"""Everything that talks to a form server (KoboToolbox API v2). Never imports Flask."""
