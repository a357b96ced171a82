"""Pure domain rules: no Litestar, no SQL. Plain functions and msgspec Structs."""
