/* morpho-private.h — the surface mesh the morphometry files share (not public). */
#pragma once

#include "tb-morpho.h"
#include <string.h>

typedef struct {
  gsize n_vertices, n_triangles;
  double *vertices;     /* xyz in mm */
  guint32 *triangles;   /* 3 vertex ids each, counter-clockwise seen from outside the bone */
} TbMorphoMesh;

/* Marching-cubes mesh of m n tv (tv may be NULL). */
gboolean tb_morpho_mesh_build (const TbMask *m, const TbMask *tv, TbMorphoMesh *mesh, GError **error);
void     tb_morpho_mesh_clear (TbMorphoMesh *mesh);
/* Area (mm^2) and, optionally, the enclosed volume (mm^3). */
double   tb_morpho_mesh_area  (const TbMorphoMesh *mesh, double *volume);
/* SMI of the mesh (it is smoothed in place). */
double   tb_morpho_mesh_smi   (TbMorphoMesh *mesh, TbProgressFunc progress, gpointer user_data);
/* chi of m n tv and Delta-chi */
double   tb_morpho_euler_in_region (const TbMask *m, const TbMask *tv, double *delta_chi);
/* DA within tv (NULL: the whole image) */
double   tb_morpho_anisotropy_in_region (const TbMask *m, const TbMask *tv, int n_directions, guint32 seed,
                                         double eigenvalues[3], double axes[9],
                                         TbProgressFunc progress, gpointer user_data, GError **error);
