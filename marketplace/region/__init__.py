"""The region's views across domains: the cluster dashboard, the audit trail, the demo region."""
