#include "unirt_cuda.h"

#include <dlfcn.h>
#include <stdio.h>

/* Resolve one symbol into the table field of the same name; give up naming it. */
#define UNIRT_RESOLVE(name)                                          \
    do {                                                             \
        void *sym = dlsym(handle, #name);                            \
        if (sym == NULL) return #name;                               \
        *(void **)&api->name = sym;                                  \
    } while (0)

void *unirt_cuda_dlopen(const char *path, char *why, size_t whyBytes) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL && why != NULL && whyBytes > 0) {
        const char *e = dlerror();
        snprintf(why, whyBytes, "%s", e ? e : "dlopen failed");
    }
    return h;
}

const char *unirt_cuda_resolve_driver(void *handle, unirt_cuda_driver *api) {
    UNIRT_RESOLVE(cuInit);
    UNIRT_RESOLVE(cuDriverGetVersion);
    UNIRT_RESOLVE(cuGetErrorString);
    UNIRT_RESOLVE(cuDeviceGetCount);
    UNIRT_RESOLVE(cuDeviceGet);
    UNIRT_RESOLVE(cuDeviceGetName);
    UNIRT_RESOLVE(cuDeviceTotalMem_v2);
    UNIRT_RESOLVE(cuDeviceGetAttribute);
    UNIRT_RESOLVE(cuDevicePrimaryCtxRetain);
    UNIRT_RESOLVE(cuCtxSetCurrent);
    UNIRT_RESOLVE(cuMemGetInfo_v2);
    UNIRT_RESOLVE(cuMemAlloc_v2);
    UNIRT_RESOLVE(cuMemFree_v2);
    UNIRT_RESOLVE(cuMemAllocHost_v2);
    UNIRT_RESOLVE(cuMemFreeHost);
    UNIRT_RESOLVE(cuMemcpyHtoD_v2);
    UNIRT_RESOLVE(cuMemcpyHtoDAsync_v2);
    UNIRT_RESOLVE(cuMemcpyDtoHAsync_v2);
    UNIRT_RESOLVE(cuMemcpyDtoDAsync_v2);
    UNIRT_RESOLVE(cuMemsetD8_v2);
    UNIRT_RESOLVE(cuModuleLoadData);
    UNIRT_RESOLVE(cuModuleGetFunction);
    UNIRT_RESOLVE(cuFuncSetAttribute);
    UNIRT_RESOLVE(cuLaunchKernel);
    UNIRT_RESOLVE(cuStreamCreate);
    UNIRT_RESOLVE(cuStreamDestroy_v2);
    UNIRT_RESOLVE(cuStreamSynchronize);
    UNIRT_RESOLVE(cuStreamBeginCapture_v2);
    UNIRT_RESOLVE(cuStreamEndCapture);
    UNIRT_RESOLVE(cuGraphInstantiateWithFlags);
    UNIRT_RESOLVE(cuGraphLaunch);
    UNIRT_RESOLVE(cuGraphDestroy);
    UNIRT_RESOLVE(cuGraphExecDestroy);
    *(void **)&api->cuTensorMapEncodeTiled = dlsym(handle, "cuTensorMapEncodeTiled");
    *(void **)&api->cuTensorMapEncodeIm2col = dlsym(handle, "cuTensorMapEncodeIm2col");
    return NULL;
}

const char *unirt_cuda_resolve_nvrtc(void *handle, unirt_cuda_nvrtc *api) {
    UNIRT_RESOLVE(nvrtcVersion);
    UNIRT_RESOLVE(nvrtcGetErrorString);
    UNIRT_RESOLVE(nvrtcCreateProgram);
    UNIRT_RESOLVE(nvrtcCompileProgram);
    UNIRT_RESOLVE(nvrtcGetProgramLogSize);
    UNIRT_RESOLVE(nvrtcGetProgramLog);
    UNIRT_RESOLVE(nvrtcGetCUBINSize);
    UNIRT_RESOLVE(nvrtcGetCUBIN);
    UNIRT_RESOLVE(nvrtcDestroyProgram);
    return NULL;
}

const char *unirt_cuda_resolve_cublaslt(void *handle, unirt_cuda_cublaslt *api) {
    UNIRT_RESOLVE(cublasLtGetVersion);
    UNIRT_RESOLVE(cublasLtCreate);
    UNIRT_RESOLVE(cublasLtMatmulDescCreate);
    UNIRT_RESOLVE(cublasLtMatmulDescDestroy);
    UNIRT_RESOLVE(cublasLtMatmulDescSetAttribute);
    UNIRT_RESOLVE(cublasLtMatrixLayoutCreate);
    UNIRT_RESOLVE(cublasLtMatrixLayoutDestroy);
    UNIRT_RESOLVE(cublasLtMatmulPreferenceCreate);
    UNIRT_RESOLVE(cublasLtMatmulPreferenceSetAttribute);
    UNIRT_RESOLVE(cublasLtMatmulAlgoGetHeuristic);
    UNIRT_RESOLVE(cublasLtMatmul);
    return NULL;
}

const char *unirt_cuda_resolve_cudnn(void *handle, unirt_cuda_cudnn *api) {
    UNIRT_RESOLVE(cudnnGetVersion);
    UNIRT_RESOLVE(cudnnGetErrorString);
    UNIRT_RESOLVE(cudnnCreate);
    UNIRT_RESOLVE(cudnnSetStream);
    UNIRT_RESOLVE(cudnnCreateTensorDescriptor);
    UNIRT_RESOLVE(cudnnSetTensor4dDescriptor);
    UNIRT_RESOLVE(cudnnCreateFilterDescriptor);
    UNIRT_RESOLVE(cudnnSetFilter4dDescriptor);
    UNIRT_RESOLVE(cudnnCreateConvolutionDescriptor);
    UNIRT_RESOLVE(cudnnSetConvolution2dDescriptor);
    UNIRT_RESOLVE(cudnnSetConvolutionGroupCount);
    UNIRT_RESOLVE(cudnnSetConvolutionMathType);
    UNIRT_RESOLVE(cudnnFindConvolutionForwardAlgorithm);
    UNIRT_RESOLVE(cudnnGetConvolutionForwardWorkspaceSize);
    UNIRT_RESOLVE(cudnnConvolutionForward);
    UNIRT_RESOLVE(cudnnConvolutionBiasActivationForward);
    UNIRT_RESOLVE(cudnnCreateActivationDescriptor);
    UNIRT_RESOLVE(cudnnSetActivationDescriptor);
    return NULL;
}
