#!/bin/bash
# demo.sh -- the crisis lab (contrib/demo/run.sh) as the end-to-end test
# of episodes: namespaces, NSD, three probes uploading to a collector, a
# scripted crisis; run.sh compares the collector's episodes with its
# ground truth and exits 0 only when every event has its episodes with
# the documented scope and bounds within the tolerance, and no episode
# is unexplained.  Here at speed 3 (an interval of 3.3 s: about two
# minutes, within CW_TEST_TIMEOUT).  First, a lab stopped by SIGTERM
# while it starts leaves no process and no namespace behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

RUN="$CW_SCENARIO_DIR/../../contrib/demo/run.sh"
[ -x "$COREWATCH" ] || cw_die "no $COREWATCH"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
for tool in nsd nft kdig jq; do
	command -v "$tool" >/dev/null || cw_die "no $tool"
done
cw_tmpdir

# lab_gone DIR: no namespace of the lab in DIR is left, and no process
# names DIR on its command line.
lab_gone()
{
	local ns left=0
	[ -s "$1/lab/netns" ] || return 1
	while read -r ns; do
		ip netns list | grep -qw "$ns" && left=1
		pgrep -f -- "--netns $ns" >/dev/null && left=1
	done <"$1/lab/netns"
	pgrep -f "$1/" >/dev/null && left=1
	[ "$left" = 0 ]
}

# Stopped while it starts.
cw_spawn "$CW_TMP/stopped.log" "$RUN" --out "$CW_TMP/stopped" --speed 3 \
    --port "$(cw_free_port)"
pid=$CW_SPAWNED
for ((i = 0; i < 600; i++)); do
	[ -s "$CW_TMP/stopped/truth.json" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
cw_check "the lab starts (its ground truth begins)" \
    [ -s "$CW_TMP/stopped/truth.json" ] || cat "$CW_TMP/stopped.log" >&2
kill -TERM "$pid"
cw_wait "$pid" 30
cw_check "SIGTERM: the lab exits 143 ($CW_STATUS)" [ "$CW_STATUS" = 143 ]
cw_check "SIGTERM: no namespace, no process left" lab_gone "$CW_TMP/stopped"

# The whole crisis.
start=$(date +%s)
# In the background, so that this script's own trap stops it.
cw_spawn "$CW_TMP/lab.log" "$RUN" --out "$CW_TMP/lab" --speed 3 \
    --port "$(cw_free_port)"
cw_wait "$CW_SPAWNED" 270
status=$CW_STATUS
cw_log "the lab ran $(($(date +%s) - start)) s; its output:"
cat "$CW_TMP/lab.log" >&2
cw_check "run.sh: exit 0, the ground truth holds ($status)" [ "$status" = 0 ]
cw_check "no namespace, no process left" lab_gone "$CW_TMP/lab"
cw_expect "every phase has its start and end" "$CW_TMP/lab/truth.json" '
    .[0].phases | length == 6 and
    all(.[]; (.start | type) == "string" and (.end | type) == "string" and
        .start < .end)'
cw_expect "nine events, each with its scope and bounds" \
    "$CW_TMP/lab/comparison.json" '
    .[0] as $c | $c.pass and $c.unexplained == 0 and
    ($c.events | length) == 9 and
    all($c.events[]; .ok and .found == .expected and
        (.start_err_s | fabs) < 10 and (.end_err_s | fabs) < 10) and
    ([$c.events[] | .found] | sort) ==
        ["probe", "probe", "region", "region", "region", "region",
         "target", "target", "target"]'
cw_expect "one probe episode of all six targets for the uplink cut" \
    "$CW_TMP/lab/episodes.jsonl" '
    [.[] | select(.scope == "probe" and (.silence | not))] |
    length == 1 and (.[0].targets | length) == 6 and .[0].addr == null'
cw_expect "a silence for the power cut" "$CW_TMP/lab/episodes.jsonl" \
    '[.[] | select(.silence)] | length == 1 and .[0].scope == "probe"'
cw_check "the annotations of the six phases" \
    [ "$("$COLLECTOR" annotate list --db "sqlite:$CW_TMP/lab/collector.db" |
        grep -c 'crisis lab, phase')" = 6 ]
# The dashboard and the report of the crisis (run.sh fails when either
# fails): a screenshot of every view, and a report that names the cut.
for view in probes heatmap rtt episodes evidence; do
	cw_check "a screenshot of the dashboard's $view view" \
	    [ -s "$CW_TMP/lab/shots/$view.png" ]
done
cw_check "the report names the uplink cut's six targets" \
    grep -q 'all 6 targets:' "$CW_TMP/lab/report.html"
cw_check "the report lists the six annotations" \
    [ "$(grep -o 'crisis lab, phase [0-9]' "$CW_TMP/lab/report.html" |
        sort -u | wc -l)" = 6 ]
cw_done
