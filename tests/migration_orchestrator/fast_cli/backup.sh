#!/bin/sh
# A quick stand-in for admin/cli/backup.php (a Python stand-in costs seconds to start on a
# loaded machine): the simulator makes the backup, this prints what backup.php prints, and it
# appends "start"/"end" lines to LOG so a test can count the backups running at once.
# backup.sh LOG SIM_URL PLATFORM --courseid=N --destination=DIR
log=$1 sim=$2 platform=$3 course=${4#--courseid=} dest=${5#--destination=}
echo "start $(date +%s.%N) $$" >> "$log"
file="$dest/backup-moodle2-course-$course.mbz"
curl -sf -o "$file" -X POST "$sim/$platform/_sim/backup?courseid=$course" || exit 1
sleep 0.05
echo "end $(date +%s.%N) $$" >> "$log"
echo "== Performing backup... =="
echo "Writing $file"
echo "Backup completed."
