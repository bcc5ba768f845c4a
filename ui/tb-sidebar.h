/* tb-sidebar.h — the session at a glance: volumes, VOIs (with a numeric editor: centre and size in
 * mm or voxels, name, colour) and load cases (weights; each force's point, vector and patch radius). */
#pragma once

#include <gtk/gtk.h>
#include "tb-document.h"

G_BEGIN_DECLS

#define TB_TYPE_SIDEBAR (tb_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (TbSidebar, tb_sidebar, TB, SIDEBAR, GtkWidget)

void     tb_sidebar_set_document      (TbSidebar *sidebar, TbDocument *doc);
/* The load case (and load, or G_MAXUINT) selected in the list; FALSE when none. */
gboolean tb_sidebar_get_selected_load (TbSidebar *sidebar, guint *case_index, guint *load_index);
/* Sets the VOI editor's field (0..2 centre x y z, 3..5 size) as a person typing would (tests). */
void     tb_sidebar_edit_voi_field    (TbSidebar *sidebar, int field, double value);
void     tb_sidebar_set_voxel_units   (TbSidebar *sidebar, gboolean voxels);

G_END_DECLS
