#!/bin/bash
# collector_http_pg.sh -- collector_http.sh again with the collector on
# PostgreSQL (the test's own throwaway cluster on a unix socket), where
# "the database unavailable" is the server stopped and started again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/collector_http.sh"
