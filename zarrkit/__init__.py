"""zarrkit: chunked, compressed N-dimensional arrays in the Zarr format (v2 and v3), on any storage."""
