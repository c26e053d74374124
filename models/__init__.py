"""SQLAlchemy tables (``models.tables``) and API schemas (``models.schemas``)."""
