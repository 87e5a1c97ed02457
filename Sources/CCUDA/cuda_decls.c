#include "unirt_cuda.h"
