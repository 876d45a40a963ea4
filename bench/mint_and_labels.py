"""Minting 100,000 unit codes (time) and rendering a 1,000-code label sheet PDF (time, peak memory).

    .venv/bin/python bench/mint_and_labels.py
    .venv/bin/python bench/mint_and_labels.py --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python bench/mint_and_labels.py --existing 1000000   # with a million codes stored

With --existing N, N codes of the same GTIN are minted first (not timed), so that the timed
mint meets a full table and its unique indexes, as a region's tenth harvest would.

The PDF is rendered in a child process so that its peak resident memory (ru_maxrss) is the
label sheet's alone. Prints the figures; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def render_labels(database_url: str, batch_id: int, queue) -> None:
    from marketplace.core.db import make_engine, make_session_factory
    from marketplace.traceability import rendering, service

    factory = make_session_factory(make_engine(database_url))
    started = time.perf_counter()
    size = 0
    with factory() as session:
        labels, logo = service.batch_labels(session, batch_id=batch_id, base_url="https://shanhai.example.cn")
        for chunk in rendering.label_sheet_pdf(labels, logo_png=logo):
            size += len(chunk)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": elapsed, "peak_mb": peak_mb, "bytes": size})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--codes", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=1_000)
    parser.add_argument("--existing", type=int, default=0)
    args = parser.parse_args()

    from fresh_database import migrated_engine

    import marketplace.app  # noqa: F401  (the whole marketplace: trace and gate receivers connect on import)
    from catalog import service as catalog_service
    from marketplace.core.config import Settings
    from marketplace.core.db import make_session_factory
    from marketplace.parties.models import Role
    from marketplace.traceability import service
    from marketplace.traceability.models import CodeLevel
    from tests import factories

    workdir = Path(tempfile.mkdtemp(prefix="shanhai-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "SECRET_KEY": "bench", "SHANHAI_INSTANCE_PATH": str(workdir)}
    )
    engine = migrated_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        cooperative = factories.make_organisation(session)
        user = factories.make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
        brand = factories.make_brand(
            session, logo_png=factories.make_png(256, 256, noise=True), logo_sha256="0" * 64
        )
        product = factories.make_product(
            session, cooperative=cooperative, brand=brand, name_zh="西湖龙井 明前特级"
        )
        sku = factories.make_sku(session, product=product)
        lot = catalog_service.register_lot(
            session,
            actor=user,
            product_id=product.id,
            lot_code="LJ2026-0401",
            harvested_on=date(2026, 4, 1),
            quantity=Decimal("1000"),
            unit="kg",
        )
        session.commit()
        existing = args.existing
        while existing > 0:
            step = min(existing, service.MAX_UNIT_CODES)
            service.mint_codes(
                session,
                actor=user,
                lot_id=lot.id,
                sku_id=sku.id,
                level=CodeLevel.UNIT,
                quantity=step,
                keys=settings.signing_keys,
            )
            session.commit()
            existing -= step
        started = time.perf_counter()
        big = service.mint_codes(
            session,
            actor=user,
            lot_id=lot.id,
            sku_id=sku.id,
            level=CodeLevel.UNIT,
            quantity=args.codes,
            keys=settings.signing_keys,
        )
        session.commit()
        mint_seconds = time.perf_counter() - started
        sheet = service.mint_codes(
            session,
            actor=user,
            lot_id=lot.id,
            sku_id=sku.id,
            level=CodeLevel.UNIT,
            quantity=args.labels,
            keys=settings.signing_keys,
        )
        session.commit()
        sheet_id = sheet.id
        assert big.quantity == args.codes
    print(f"database: {settings.database_url.split('@')[-1]}")
    print(
        f"minting {args.codes:,} unit codes in one request with {args.existing:,} stored: "
        f"{mint_seconds:.2f} s (bar: under 10 s)"
    )
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=render_labels, args=(settings.database_url, sheet_id, queue))
    child.start()
    result = queue.get(timeout=600)
    child.join()
    pages = -(-args.labels // 21)
    print(
        f"label sheet PDF of {args.labels:,} codes ({pages} A4 pages, {result['bytes'] / 1e6:.1f} MB): "
        f"{result['seconds']:.2f} s, peak memory {result['peak_mb']:.0f} MB of the whole rendering "
        "process (bar: under 30 s and 500 MB)"
    )
    print(
        json.dumps(
            {
                "existing": args.existing,
                "mint_seconds": round(mint_seconds, 2),
                "pdf_seconds": round(result["seconds"], 2),
                "pdf_peak_mb": round(result["peak_mb"]),
                "pdf_bytes": result["bytes"],
            }
        )
    )
    engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
