#!/bin/bash
# evidence_pg.sh -- evidence.sh again with the collector on PostgreSQL
# (the test's own throwaway cluster on a unix socket).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/evidence.sh"
