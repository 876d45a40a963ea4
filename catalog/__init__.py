"""The cluster-branded catalog: brands, categories, products, SKUs and harvest lots."""
