"""The platform every domain stands on: settings, database, errors, HTTP, security, observability."""
