"""Parties: clusters, villages, organisations and village–enterprise pairings."""
