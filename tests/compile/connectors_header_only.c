/* every connector, declarations only */
#include "../../cocoindex.h"
#include "../../connectors/cocoindex_localfs.h"
int connectors_header_only(void);
int connectors_header_only(void) { return 0; }
