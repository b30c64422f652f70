#!/bin/sh
# A quick stand-in for admin/cli/restore_backup.php: the simulator restores, this prints its
# output and exits with its status. restore.sh SIM_URL --file=PATH --categoryid=N
sim=$1 file=${2#--file=} category=${3#--categoryid=}
out=$(curl -sf -X POST --data-binary @"$file" "$sim/target/_sim/restore?categoryid=$category") || exit 1
printf "%s\n" "$out" | jq -r .stdout
exit "$(printf "%s\n" "$out" | jq -r .exit_code)"
