"""Collaboration codes and traceability: minting, Digital Link, signing, labels, resolver, scans, trace."""
