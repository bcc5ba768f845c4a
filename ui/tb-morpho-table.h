/* tb-morpho-table.h — morphometry of every VOI x method (clinical, TO, NN, truth): BV/TV, Tb.Th,
 * Tb.Sp, Tb.N, SMI, Conn.D, DA, apparent stiffness, and SSIM/PSNR against the truth when known;
 * each column with a small bar per row (scaled to the column's largest value). */
#pragma once

#include <gtk/gtk.h>
#include "tb-document.h"

G_BEGIN_DECLS

typedef struct {
  const char *key;     /* tb_document_get_measure quantity */
  const char *label;   /* column title (untranslated, N_ marked) */
  const char *unit;
} TbMeasureColumn;

const TbMeasureColumn *tb_measure_columns (guint *n_columns);

#define TB_TYPE_MORPHO_TABLE (tb_morpho_table_get_type ())
G_DECLARE_FINAL_TYPE (TbMorphoTable, tb_morpho_table, TB, MORPHO_TABLE, GtkWidget)

void   tb_morpho_table_set_document (TbMorphoTable *table, TbDocument *doc);
guint  tb_morpho_table_get_n_rows   (TbMorphoTable *table);
/* The table as CSV text (header + one line per VOI x method with any value). */
char  *tb_morpho_table_to_csv       (TbDocument *doc);

G_END_DECLS
