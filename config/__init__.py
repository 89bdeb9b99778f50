"""The documented default configuration, installed as `contactcenter.config` (see setup.py)."""
