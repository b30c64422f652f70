"""Where backup files live between the backup and the restore.

``BackupStore`` is the interface; ``DirectoryStore`` (a local or mounted directory) is the
default. An S3-compatible store implements the same four methods with a multipart upload
(``write``), a ranged GET stream (``read``) and a temporary download for ``local_copy``.
"""

from services.migration_orchestrator.store.base import (
    BackupStore,
    ChecksumMismatch,
    StoredBackup,
    StoreError,
)
from services.migration_orchestrator.store.directory import DirectoryStore

__all__ = ["BackupStore", "ChecksumMismatch", "DirectoryStore", "StoreError", "StoredBackup"]
