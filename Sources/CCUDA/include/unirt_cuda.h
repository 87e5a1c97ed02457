#ifndef UNIRT_CUDA_H
#define UNIRT_CUDA_H
/* Declarations of the CUDA driver, NVRTC, cuBLASLt and cuDNN entry points that
 * unirt resolves with dlopen/dlsym at run time. Nothing here is linked. */
#include <stddef.h>
#include <stdint.h>

#endif
