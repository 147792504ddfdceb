#define COCOINDEX_STATIC
#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
int static_b_check(void);
int static_b_check(void) { return coco_fp_eq(coco_fp_of("a", 1), coco_fp_of("b", 1)); }
