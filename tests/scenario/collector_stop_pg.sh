#!/bin/bash
# collector_stop_pg.sh -- collector_stop.sh again with the collector on
# PostgreSQL (the test's own throwaway cluster on a unix socket).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/collector_stop.sh"
