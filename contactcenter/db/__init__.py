"""Storage: models, the engine, and queries shared by several rooms."""
