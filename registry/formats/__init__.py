"""File formats every capability reads or writes: CSV, XLSX and GeoJSON tables, with the limits
and guards an upload needs. No HTTP, no database."""
