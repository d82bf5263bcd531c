#!/usr/bin/env python3
"""Writes the Parquet samples from the CSV / NDJSON ones, with pyarrow.

    bash scripts/python-tools.sh        # once: installs pyarrow into target/pytools
    target/pytools/bin/python sample-data/parquet.py

hris.parquet    the rows of hris.csv, typed as a warehouse export would be: dates as
                date32, DEPARTMENT / LOCATION / EMPLOYMENT_TYPE dictionary-encoded strings;
                row groups of 100 rows, Snappy (pyarrow's default codec).
events.parquet  the events of events.ndjson with their nested structs and lists
                (organizer, attendees[], conferenceData); row groups of 64 rows, ZSTD.
"""
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.json as pajson
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

hris = csv.read_csv(
    HERE / "hris.csv",
    convert_options=csv.ConvertOptions(
        column_types={
            name: pa.string()
            for name in ["EMPLOYEE_ID", "EMPLOYEE_EMAIL", "MANAGER_ID", "MANAGER_EMAIL"]
        }
        | {name: pa.date32() for name in ["JOIN_DATE", "LEAVE_DATE", "SNAPSHOT"]},
        strings_can_be_null=True,
    ),
)
for name in ["DEPARTMENT", "LOCATION", "EMPLOYMENT_TYPE"]:
    i = hris.schema.get_field_index(name)
    hris = hris.set_column(i, name, pc.dictionary_encode(hris.column(name)))
pq.write_table(hris, HERE / "hris.parquet", row_group_size=100, compression="snappy")

events = pajson.read_json(HERE / "events.ndjson")
pq.write_table(events, HERE / "events.parquet", row_group_size=64, compression="zstd")
print(f"hris.parquet: {hris.num_rows} rows; events.parquet: {events.num_rows} rows")
