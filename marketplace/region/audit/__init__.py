"""The audit trail as the operator reads it (the trail itself is written by marketplace.core.audit)."""
