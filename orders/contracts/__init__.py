"""Order-farming purchase contracts (订单农业): terms, signatures, deliveries, settlements."""
