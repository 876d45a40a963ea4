"""The cluster dashboard (一屏掌控 / 一张图 / 一本账): figures computed in SQL, never row by row."""
