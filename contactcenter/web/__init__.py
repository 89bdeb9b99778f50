"""The HTTP side of the hub: API, pages, authentication, error handling."""
