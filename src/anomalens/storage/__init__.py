"""Blob storage behind one URI interface (fsspec: local paths, file://, s3://, gs://, az://, memory://)."""
