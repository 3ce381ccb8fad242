#!/bin/bash
# collector_annotate_pg.sh -- collector_annotate.sh again with the
# collector and the annotate commands on PostgreSQL (the test's own
# throwaway cluster on a unix socket).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
CW_COLLECTOR_DB=postgresql exec bash "$(dirname "$0")/collector_annotate.sh"
