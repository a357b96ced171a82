"""File formats every capability reads or writes: CSV, XLSX and GeoJSON tables, with the limits
and guards an upload needs. No HTTP, no database.

:mod:`readers` (file → header and numbered rows), :mod:`writers` (rows → bytes),
:mod:`archive` (the one XLSX zip-bomb guard), :mod:`problems` (what a reader refuses, and the
limits). Media types and Content-Disposition belong to HTTP: :mod:`registry.http.files`.
"""
