#include "unirt_proto.h"
int unirt_proto_placeholder(void) { return 0; }
