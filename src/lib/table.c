/*
 * table.c -- a readable text table for a terminal.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "table.h"

struct table {
	size_t ncols;
	size_t nrows;  /* data rows; cells row 0: the header */
	size_t filled; /* complete rows in cells: nrows + 1 */
	size_t cap;
	char **cells; /* (nrows + 1) * ncols, row-major */
	enum table_align *align;
	size_t *width;
};

/* table_cell_dup: a copy with control characters replaced by '?'. */
static char *
table_cell_dup(const char *text)
{
	char *copy;

	if ((copy = strdup(text != NULL ? text : "-")) == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return copy;
}

/* table_cell_width: columns a cell takes; UTF-8 continuation bytes take
 * none, so "Україна" is as wide as it looks. */
static size_t
table_cell_width(const char *text)
{
	size_t w = 0;

	for (; *text != '\0'; text++)
		if (((unsigned char)*text & 0xc0) != 0x80)
			w++;
	return w;
}

/* table_append: add one row of cells (the header is row 0). */
static int
table_append(struct table *t, const char *const *cells)
{
	size_t row = t->filled;

	if (row + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = reallocarray(t->cells, cap * t->ncols,
		    sizeof(*grown));
		if (grown == NULL) {
			log_warn("%s: reallocarray", __func__);
			return -1;
		}
		t->cells = grown;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		char *copy = table_cell_dup(cells[c]);
		if (copy == NULL) {
			log_warn("%s: strdup", __func__);
			while (c-- > 0)
				free(t->cells[row * t->ncols + c]);
			return -1;
		}
		t->cells[row * t->ncols + c] = copy;
		if (table_cell_width(copy) > t->width[c])
			t->width[c] = table_cell_width(copy);
	}
	t->filled++;
	return 0;
}

struct table *
table_new(size_t ncols, const char *const *headers)
{
	struct table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->align = calloc(ncols, sizeof(*t->align))) == NULL ||
	    (t->width = calloc(ncols, sizeof(*t->width))) == NULL) {
		log_warn("%s: calloc", __func__);
		table_free(t);
		return NULL;
	}
	t->ncols = ncols;
	if (table_append(t, headers) == -1) {
		table_free(t);
		return NULL;
	}
	return t;
}

void
table_set_align(struct table *t, size_t col, enum table_align align)
{
	if (col < t->ncols)
		t->align[col] = align;
}

int
table_add_row(struct table *t, const char *const *cells)
{
	if (table_append(t, cells) == -1)
		return -1;
	t->nrows++;
	return 0;
}

size_t
table_rows(const struct table *t)
{
	return t->nrows;
}

static void
table_print_row(const struct table *t, size_t row, FILE *fp)
{
	for (size_t c = 0; c < t->ncols; c++) {
		const char *cell = t->cells[row * t->ncols + c];
		size_t pad = t->width[c] - table_cell_width(cell);
		int last = c + 1 == t->ncols;

		if (t->align[c] == TABLE_RIGHT)
			fprintf(fp, "%*s%s", (int)pad, "", cell);
		else if (last)
			fputs(cell, fp);
		else
			fprintf(fp, "%s%*s", cell, (int)pad, "");
		fputs(last ? "\n" : "  ", fp);
	}
}

void
table_print(const struct table *t, FILE *fp)
{
	for (size_t row = 0; row <= t->nrows; row++)
		table_print_row(t, row, fp);
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->filled * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->align);
	free(t->width);
	free(t);
}
