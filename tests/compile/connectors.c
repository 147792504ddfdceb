/* every connector with the implementation */
#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
#include "../../connectors/cocoindex_localfs.h"
#include "../../connectors/cocoindex_sqlite.h"
int main(void) { return 0; }
