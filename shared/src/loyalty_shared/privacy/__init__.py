"""Member data rights (contract 5.4): erasure (`erasure.py`), the register of erasures, and
the export every service answers (`export.py`). See docs/operations.md#member-data-rights."""
