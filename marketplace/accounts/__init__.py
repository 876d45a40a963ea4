"""Accounts, roles, bearer tokens and the access gate for views."""
