"""Orders and payments, the benefit-sharing ledger, and (later) order-farming contracts."""
