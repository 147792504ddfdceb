/* every connector, declarations only */
#include "../../cocoindex.h"
#include "../../connectors/cocoindex_localfs.h"
#include "../../connectors/cocoindex_sqlite.h"
int connectors_header_only(void);
int connectors_header_only(void) { return 0; }
