"""Reports for supervisors: figures for a date range, as JSON, CSV and a page with charts."""
