"""One Litestar Controller per resource: parse, call a service, shape the answer."""
