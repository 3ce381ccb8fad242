/*
 * output.h -- where results go: stdout or a JSON-lines file.
 *
 * The spool (a later step) will sit behind this same interface.
 */
#ifndef CW_OUTPUT_H
#define CW_OUTPUT_H

#include <stdio.h>

#include <event2/event.h>
#include <jansson.h>

struct output;

/* output_open: path NULL or "-" means stdout; otherwise the file is opened
 * for appending (created 0640).  Returns NULL and logs on failure. */
struct output *output_open(const char *path);

/* output_set_base: batch writes on this event loop.  Without it every
 * line is flushed as it is written; with it, lines are flushed once per
 * loop iteration (a zero timer), so a burst of results costs one
 * write(2).  Call before the first output_write; `base` must outlive the
 * output or output_close must come first.  Returns 0 or -1 (logged). */
int output_set_base(struct output *out, struct event_base *base);

/* output_write: append the result as one line.  Returns 0, or -1 when
 * the line could not be written (logged; the caller counts it). */
int output_write(struct output *out, const json_t *result);

/* output_flush: push buffered lines to the kernel and, for a file,
 * fdatasync it.  Returns 0 or -1. */
int output_flush(struct output *out);

/* output_name: "stdout" or the file's path, for messages. */
const char *output_name(const struct output *out);

/* output_close: flush and free; NULL is fine. */
void output_close(struct output *out);

#endif
