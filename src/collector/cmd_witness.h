/*
 * cmd_witness.h -- `corewatch-collector witness`: check a collector's
 * log from outside, over time (doc/evidence.md, "Witnessing").
 *
 *   corewatch-collector witness --vkey KEY --state DIR URL
 *
 * Fetches URL/api/v1/log/checkpoint, checks its signature with the
 * verifier key KEY (the text, or a file holding it), and compares it
 * with the last checkpoint of that log the witness kept in DIR: the same
 * size must have the same root; a larger log must come with a
 * consistency proof (URL/api/v1/log/proof/consistency) from the kept
 * one that checks; a smaller one is a log that went back.  A checkpoint
 * that holds is appended to DIR/history (one line each: when, size,
 * root) and kept as DIR/latest; one that does not is kept as
 * DIR/alarm-<time>.txt with the proof and the reason, and the history
 * is not moved on.  One check per run: run it from cron or a systemd
 * timer.
 *
 * Returns the exit status: 0 the log is consistent with everything the
 * witness saw of it, 1 it is not (the alarm names how) or the collector
 * could not be asked (nothing is kept), 2 a usage error.
 */
#ifndef CW_CMD_WITNESS_H
#define CW_CMD_WITNESS_H

int collector_cmd_witness(int argc, char **argv);

#endif /* CW_CMD_WITNESS_H */
