#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
int main() { coco_store_desc d = {}; (void)d; return coco_version()[0] == 0; }
