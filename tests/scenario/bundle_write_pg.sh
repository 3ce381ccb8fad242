#!/bin/bash
# bundle_write_pg.sh -- bundle_write.sh again with the collector on
# PostgreSQL (the test's own throwaway cluster on a unix socket).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/bundle_write.sh"
