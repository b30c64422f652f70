"""Why a backup file is refused. Every refusal leaves the file as it was.

BadRequest
 └── BackupRejected                 backup_rejected
      ├── NotAnArchive              neither tar.gz nor ZIP (by content, not by name)
      ├── ArchiveCorrupt            truncated or damaged container
      ├── UnsafeMember              absolute path, `..`, link, device, duplicate, encrypted
      ├── NestingTooDeep            too many path levels or XML levels
      ├── TooManyMembers
      ├── CompressionBomb           compression ratio beyond the limit
      ├── UnsafeXml                 DTD, entity declaration or external reference
      ├── MalformedXml
      ├── NotAMoodleBackup          no moodle_backup.xml, or not a moodle2 backup
      └── AnalysisAbandoned         the client went away: the reading was stopped
PayloadTooLarge
 └── BackupTooLarge                 upload, member or total size beyond the limit
"""

from __future__ import annotations

from fusion.errors import BadRequest, PayloadTooLarge


class BackupRejected(BadRequest):
    code = "backup_rejected"


class NotAnArchive(BackupRejected):
    code = "backup_not_an_archive"


class ArchiveCorrupt(BackupRejected):
    code = "backup_corrupt"


class UnsafeMember(BackupRejected):
    code = "backup_unsafe_member"


class NestingTooDeep(BackupRejected):
    code = "backup_nesting_too_deep"


class TooManyMembers(BackupRejected):
    code = "backup_too_many_members"


class CompressionBomb(BackupRejected):
    code = "backup_compression_ratio"


class UnsafeXml(BackupRejected):
    code = "backup_unsafe_xml"


class MalformedXml(BackupRejected):
    code = "backup_malformed_xml"


class NotAMoodleBackup(BackupRejected):
    code = "backup_not_moodle"


class BackupTooLarge(PayloadTooLarge):
    code = "backup_too_large"


class AnalysisAbandoned(BackupRejected):
    code = "backup_analysis_abandoned"
