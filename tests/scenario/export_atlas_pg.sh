#!/bin/bash
# export_atlas_pg.sh -- export_atlas.sh again with the collector on
# PostgreSQL (the test's own throwaway cluster on a unix socket).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/export_atlas.sh"
