"""Prometheus counters for money moving; summed across workers like every other metric."""

from prometheus_client import Counter

ORDERS_PLACED = Counter("shanhai_orders_placed_total", "Orders placed with their stock reserved")
ORDERS_REFUSED = Counter("shanhai_orders_refused_total", "Orders refused for lack of stock")
PAYMENTS = Counter("shanhai_payment_events_total", "Stripe events applied, by outcome", ["outcome"])
WEBHOOK_FAILURES = Counter("shanhai_webhook_failures_total", "Webhook deliveries refused", ["reason"])
