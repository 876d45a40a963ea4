"""The audit trail: every write, who made it, when, and from which request; append-only."""
