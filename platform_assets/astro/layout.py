"""Where each astro asset keeps its files: ``<warehouse>/astro/<asset>/<file>``.

Assets write these files; later assets and the checks read them. Naming each file once here
keeps writers and readers on the same path; folders come from ``Warehouse.asset_dir``.
"""

TABLE_FILE = "table.parquet"  # an ingestion asset's rows, one per source
REPORT_FILE = "ingest_report.json"  # an ingestion asset's files read, reused and rejected
CARD_FILE = "card.json"  # a model asset's metrics, gates and registry version
MODEL_REPORT_FILE = "report.html"  # a model asset's figures (predicted vs true, confusion, ...) and metrics
SPLITS_FILE = "splits.parquet"
