/*
 * conf_kind.h -- what the measurement sections of every kind share
 * (src/agent/conf.c), for the kinds' own section code (probes/conf_*.c).
 *
 * Each kind's section builds its spec with these and the loader's
 * helpers (confload.h); every problem is reported with conf_sec_error()
 * at the line of its option, and none of these stops the section.
 */
#ifndef CW_CONF_KIND_H
#define CW_CONF_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "confload.h"
#include "target.h"

/* conf_cycle: interval and spread of m, the same for every kind.
 * Returns whether interval is valid (cross-checks are made only between
 * values that are valid themselves). */
bool conf_cycle(struct conf_sec *s, struct measurement *m);

/* conf_choice: option `opt` as `both` (the default), `a` or `b`: the
 * values va|vb, va or vb. */
int conf_choice(struct conf_sec *s, const char *opt, const char *a, int va,
    const char *b, int vb);

/* conf_size: option `opt` as a size from `min` into *out; `dflt` when
 * not set.  Returns 0, or -1 (reported; *out is dflt). */
int conf_size(struct conf_sec *s, const char *opt, uint64_t min, uint64_t dflt,
    uint64_t *out);

/* conf_rule: how a section words a problem with one of its kind's spec
 * rules (probe_kind.spec_check), at the line of option `opt`: "OPT:
 * WHY" with the check's WHY; "OPT WHY" when `sentence` (the WHY goes on
 * from the name: "timeout must be above 0"); or, where the fix is
 * another option, the words `says` ("do needs EDNS: set edns_size"). */
struct conf_rule {
	const char *opt;
	const char *says;
	bool sentence;
};

/* conf_spec_rules: ask m's kind every rule of its spec rules[] words
 * (kind->spec_rules of them), reporting each problem.  Returns the
 * rules refused as a mask (bit r: rule r), so that a cross-check can
 * skip a value that is not valid itself. */
unsigned conf_spec_rules(struct conf_sec *s, const struct measurement *m,
    const void *spec, const struct conf_rule *rules);

#endif
