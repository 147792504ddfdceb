/* declarations only: must compile with -Werror and leave no unused statics */
#include "../../cocoindex.h"
int header_only_check(coco_store* s);
int header_only_check(coco_store* s) { return coco_store_errmsg(s)[0]; }
