/* two translation units, each with a private static copy */
#define COCOINDEX_STATIC
#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
int static_b_check(void);
int main(void) { return static_b_check() + (coco_version()[0] == 0); }
