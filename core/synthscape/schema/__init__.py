"""Table schemas: declared columns, validation that reports every problem, (DP) inference."""
from synthscape.schema.column import Column
from synthscape.schema.sequence import SequenceSchema
from synthscape.schema.table import PrivateDataWarning, TableSchema

__all__ = ["Column", "PrivateDataWarning", "SequenceSchema", "TableSchema"]
