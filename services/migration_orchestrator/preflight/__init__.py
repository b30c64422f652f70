"""Pre-flight analysis of Moodle backups: streamed, safe against hostile archives."""
