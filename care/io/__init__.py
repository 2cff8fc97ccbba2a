"""Data in and out: spreadsheet imports (CSV, XLSX) with row-level errors, exports whose
cells are safe to open in a spreadsheet, and the demo data set.
"""

from care.io.demo import DEMO_FAQ, DEMO_SYNONYMS, SeedReport, write_demo_shop
from care.io.exports import looks_like_formula, neutralise, write_table
from care.io.imports import (
    CellError,
    Columns,
    ImportFileError,
    ImportLimits,
    ImportReport,
    Row,
    RowError,
    check_headers,
    header_key,
    import_customers,
    import_orders,
    import_products,
    iter_rows,
    limited,
    parse_language,
    read_table,
    row_errors,
    upsert_customer_records,
    upsert_order_records,
    upsert_product_records,
)

__all__ = [
    "DEMO_FAQ",
    "DEMO_SYNONYMS",
    "CellError",
    "Columns",
    "ImportFileError",
    "ImportLimits",
    "ImportReport",
    "Row",
    "RowError",
    "SeedReport",
    "check_headers",
    "header_key",
    "import_customers",
    "import_orders",
    "import_products",
    "iter_rows",
    "limited",
    "looks_like_formula",
    "neutralise",
    "parse_language",
    "read_table",
    "row_errors",
    "upsert_customer_records",
    "upsert_order_records",
    "upsert_product_records",
    "write_demo_shop",
    "write_table",
]
