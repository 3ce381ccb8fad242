/*
 * table.h -- a readable text table for a terminal.
 *
 * Columns are as wide as their widest cell, separated by two spaces,
 * under a header line.  Cells are copied; control characters in them are
 * shown as '?' so text from the network cannot drive the terminal.
 */
#ifndef CW_TABLE_H
#define CW_TABLE_H

#include <stddef.h>
#include <stdio.h>

enum table_align {
	TABLE_LEFT = 0,
	TABLE_RIGHT, /* numbers */
};

struct table;

/* table_new: a table with `ncols` columns named by `headers` (copied).
 * NULL when out of memory (logged). */
struct table *table_new(size_t ncols, const char *const *headers);

/* table_set_align: align column `col` (default TABLE_LEFT). */
void table_set_align(struct table *t, size_t col, enum table_align align);

/* table_add_row: append a row of ncols cells (copied; a NULL cell shows
 * as "-").  Returns 0, or -1 when out of memory (logged). */
int table_add_row(struct table *t, const char *const *cells);

/* table_rows: how many rows were added. */
size_t table_rows(const struct table *t);

/* table_print: write the header and the rows to fp. */
void table_print(const struct table *t, FILE *fp);

/* table_free: free the table; NULL is fine. */
void table_free(struct table *t);

#endif
