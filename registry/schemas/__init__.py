"""Request and response bodies (msgspec Structs), shared by api/ and services/."""
