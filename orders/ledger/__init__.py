"""The double-entry ledger: every sale, refund and settlement, in fen, per day and per party."""
