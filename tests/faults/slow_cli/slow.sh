#!/bin/sh
# A CLI stand-in that takes a while, so that a test can kill its worker midway:
# slow.sh MARKS SECONDS COMMAND ARGS... appends "start PID WORKER_PID" to MARKS, sleeps, runs
# COMMAND (its output is the worker's to read) and appends "end PID STATUS", even when the
# worker that started it is dead by then (an orphaned CLI, as a real php process would be).
marks=$1 seconds=$2
shift 2
echo "start $$ $PPID" >> "$marks"
sleep "$seconds"
"$@"
status=$?
echo "end $$ $status" >> "$marks"
exit "$status"
