"""Server-rendered public pages (no JavaScript): certificate verification for now."""
