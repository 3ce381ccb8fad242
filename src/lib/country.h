/*
 * country.h -- the country codes a probe may declare and an annotation
 * may name: ISO 3166-1 alpha-2, as assigned.  Both the probe's
 * configuration and the collector check against this one list.
 */
#ifndef CW_COUNTRY_H
#define CW_COUNTRY_H

#include <stdbool.h>

/* country_valid: true for an assigned ISO 3166-1 alpha-2 code (either
 * case), plus XK (Kosovo, in common use); false for NULL. */
bool country_valid(const char *code);

#endif /* CW_COUNTRY_H */
