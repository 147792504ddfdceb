/* the header included twice, the second time with the implementation.  In strict C99 the
   implementation needs POSIX.1-2008 declared before the first system header. */
#define _POSIX_C_SOURCE 200809L
#include "../../cocoindex.h"
#include "../../cocoindex.h"
#define COCOINDEX_IMPLEMENTATION
#include "../../cocoindex.h"
#include "../../cocoindex.h"
int main(void) { return 0; }
