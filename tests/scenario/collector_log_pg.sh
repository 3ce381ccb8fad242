#!/bin/bash
# collector_log_pg.sh -- collector_log.sh again with the collector and
# the log commands on PostgreSQL (the test's own throwaway cluster on a
# unix socket).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/collector_log.sh"
