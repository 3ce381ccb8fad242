#!/bin/bash
# export_slow_pg.sh -- export_slow.sh again with the collector on
# PostgreSQL (the test's own throwaway cluster on a unix socket), which
# reads a page of rows whole: the bound in bytes must hold there too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/export_slow.sh"
