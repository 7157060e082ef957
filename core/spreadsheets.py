"""What the shop's CSV downloads share: cells a spreadsheet must never run as formulas."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Keep a spreadsheet from running text typed by a user as a formula."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value
