"""The pages, messages and static files, installed as `contactcenter.templates` (see setup.py)."""
