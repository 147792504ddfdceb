/* every connector with the implementation */
#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
#include "../../connectors/cocoindex_localfs.h"
int main(void) { return 0; }
