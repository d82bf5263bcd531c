"""pyarrow, as an independent Parquet implementation, for the Parquet tests.

    parquet_tool.py dump FILE          prints the file as JSON: schema, row groups, codec, rows
    parquet_tool.py exec SCRIPT        runs Python with `pa`, `pq`, `pc` and `csv` imported

Values are printed with json: dates and times as ISO text, bytes as hex, floats as floats.
"""
import datetime
import decimal
import json
import sys

import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.compute as pc
import pyarrow.parquet as pq


def plain(v):
    if isinstance(v, (datetime.date, datetime.datetime, datetime.time)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        # maps come back as lists of (key, value) tuples
        return [plain(x) for x in v]
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    return v


def dump(path):
    f = pq.ParquetFile(path)
    md = f.metadata
    table = f.read()
    out = {
        "schema": [
            {"name": fld.name, "type": str(fld.type), "nullable": fld.nullable}
            for fld in f.schema_arrow
        ],
        "row_groups": [md.row_group(i).num_rows for i in range(md.num_row_groups)],
        "codecs": sorted(
            {
                md.row_group(i).column(j).compression
                for i in range(md.num_row_groups)
                for j in range(md.num_columns)
            }
        ),
        "rows": [plain(r) for r in table.to_pylist()],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif sys.argv[1] == "exec":
        exec(sys.argv[2], {"pa": pa, "pq": pq, "pc": pc, "csv": csv, "sys": sys})
    else:
        sys.exit("usage: parquet_tool.py dump FILE | exec SCRIPT")
