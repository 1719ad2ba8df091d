"""Scanners: existing files (HDF5/NetCDF4, NetCDF3, TIFF, MAT, GRIB) turned into reference sets."""
