"""Extractors that bring data from the systems of record into the landing folder.

- ``salesforce``: Salesforce REST (queryAll, incremental on SystemModstamp) -> ``crm/<Object>/``.
- ``object_store``: an object-storage event archive (``s3://bucket/prefix/``) mirrored
  incrementally (by key and ETag) into ``product_usage/``.
- ``source_config``: where both are configured (``sources.yml`` and environment variables).

The loaders (``dagster_project.ingest``) read the landing folder only; these modules write it.
"""
