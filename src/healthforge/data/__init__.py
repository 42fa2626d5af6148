"""Loading, describing and checking health tables."""

from healthforge.data.bundled import DATASETS, get_dataset
from healthforge.data.encoding import TableEncoder
from healthforge.data.infer import infer_schema
from healthforge.data.io import load_table, write_chunks, write_table
from healthforge.data.prepare import PreparedData, prepare
from healthforge.data.schema import ColumnSchema, Schema

__all__ = [
    "DATASETS",
    "ColumnSchema",
    "PreparedData",
    "Schema",
    "TableEncoder",
    "get_dataset",
    "infer_schema",
    "load_table",
    "prepare",
    "write_chunks",
    "write_table",
]
