#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
int main(void) { return coco_version()[0] == 0; }
