"""Shanhai 山海: a regional farm-produce brand and marketplace backend."""
