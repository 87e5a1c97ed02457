#ifndef UNIRT_CUDA_H
#define UNIRT_CUDA_H
/* Declarations of the CUDA driver, NVRTC, cuBLASLt and cuDNN 9 entry points that
 * unirt resolves with dlopen/dlsym at run time. Nothing here is linked: each
 * library's functions are gathered in one table of function pointers, filled by
 * unirt_cuda_resolve_<library>() from a handle the caller opened with dlopen.
 *
 * Types and enumerator values follow the vendors' public API references
 * (CUDA Driver API 13.0, NVRTC 13.0, cuBLASLt 13, cuDNN 9 legacy API). Only the
 * values unirt uses are declared. */
#include <stddef.h>
#include <stdint.h>

/* ---- CUDA driver API ---------------------------------------------------- */
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

enum {
    UNIRT_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    UNIRT_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    UNIRT_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    UNIRT_CU_STREAM_NON_BLOCKING = 1,
    UNIRT_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
    UNIRT_CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0,
    UNIRT_CU_TENSOR_MAP_INTERLEAVE_NONE = 0,
    UNIRT_CU_TENSOR_MAP_SWIZZLE_64B = 2,
    UNIRT_CU_TENSOR_MAP_SWIZZLE_128B = 3,
    UNIRT_CU_TENSOR_MAP_L2_PROMOTION_L2_128B = 2,
    UNIRT_CU_TENSOR_MAP_L2_PROMOTION_L2_256B = 3,
    UNIRT_CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0,
};

typedef struct unirt_cuda_driver {
    CUresult (*cuInit)(unsigned int flags);
    CUresult (*cuDriverGetVersion)(int *version);
    CUresult (*cuGetErrorString)(CUresult error, const char **text);
    CUresult (*cuDeviceGetCount)(int *count);
    CUresult (*cuDeviceGet)(CUdevice *device, int ordinal);
    CUresult (*cuDeviceGetName)(char *name, int len, CUdevice device);
    CUresult (*cuDeviceTotalMem_v2)(size_t *bytes, CUdevice device);
    CUresult (*cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
    CUresult (*cuCtxSetCurrent)(CUcontext context);
    CUresult (*cuMemGetInfo_v2)(size_t *free, size_t *total);
    CUresult (*cuMemAlloc_v2)(CUdeviceptr *pointer, size_t bytes);
    CUresult (*cuMemFree_v2)(CUdeviceptr pointer);
    CUresult (*cuMemAllocHost_v2)(void **pointer, size_t bytes);
    CUresult (*cuMemFreeHost)(void *pointer);
    CUresult (*cuMemcpyHtoD_v2)(CUdeviceptr dst, const void *src, size_t bytes);
    CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);
    CUresult (*cuMemcpyDtoHAsync_v2)(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
    CUresult (*cuMemcpyDtoDAsync_v2)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
    CUresult (*cuMemsetD8_v2)(CUdeviceptr dst, unsigned char value, size_t count);
    CUresult (*cuModuleLoadData)(CUmodule *module, const void *image);
    CUresult (*cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
    CUresult (*cuFuncSetAttribute)(CUfunction function, int attribute, int value);
    CUresult (*cuLaunchKernel)(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                               unsigned int bx, unsigned int by, unsigned int bz, unsigned int sharedBytes,
                               CUstream stream, void **params, void **extra);
    CUresult (*cuStreamCreate)(CUstream *stream, unsigned int flags);
    CUresult (*cuStreamDestroy_v2)(CUstream stream);
    CUresult (*cuStreamSynchronize)(CUstream stream);
    CUresult (*cuStreamBeginCapture_v2)(CUstream stream, int mode);
    CUresult (*cuStreamEndCapture)(CUstream stream, CUgraph *graph);
    CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *exec, CUgraph graph, unsigned long long flags);
    CUresult (*cuGraphLaunch)(CUgraphExec exec, CUstream stream);
    CUresult (*cuGraphDestroy)(CUgraph graph);
    CUresult (*cuGraphExecDestroy)(CUgraphExec exec);
    /* Optional (NULL where the driver predates them): tensor maps for the copy engine of sm_90, each written to
     * 128 bytes at a 64-byte aligned address (`CUtensorMap`). */
    CUresult (*cuTensorMapEncodeTiled)(void *map, int dataType, uint32_t rank, void *address, const uint64_t *dims,
                                       const uint64_t *strides, const uint32_t *box, const uint32_t *elementStrides,
                                       int interleave, int swizzle, int l2Promotion, int oobFill);
    CUresult (*cuTensorMapEncodeIm2col)(void *map, int dataType, uint32_t rank, void *address, const uint64_t *dims,
                                        const uint64_t *strides, const int *lowerCorner, const int *upperCorner,
                                        uint32_t channelsPerPixel, uint32_t pixelsPerColumn, const uint32_t *elementStrides,
                                        int interleave, int swizzle, int l2Promotion, int oobFill);
} unirt_cuda_driver;

/* ---- NVRTC ---------------------------------------------------------------- */
typedef int nvrtcResult;
typedef struct _nvrtcProgram *nvrtcProgram;

typedef struct unirt_cuda_nvrtc {
    nvrtcResult (*nvrtcVersion)(int *major, int *minor);
    const char *(*nvrtcGetErrorString)(nvrtcResult result);
    nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *program, const char *source, const char *name,
                                      int headerCount, const char *const *headers, const char *const *includeNames);
    nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram program, int optionCount, const char *const *options);
    nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram program, size_t *size);
    nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram program, char *log);
    nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram program, size_t *size);
    nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram program, char *cubin);
    nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *program);
} unirt_cuda_nvrtc;

/* ---- cuBLASLt ------------------------------------------------------------- */
typedef int cublasStatus_t;
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct cublasLtMatmulDescOpaque *cublasLtMatmulDesc_t;
typedef struct cublasLtMatrixLayoutOpaque *cublasLtMatrixLayout_t;
typedef struct cublasLtMatmulPreferenceOpaque *cublasLtMatmulPreference_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

enum {
    UNIRT_CUDA_R_32F = 0,
    UNIRT_CUDA_R_16F = 2,
    UNIRT_CUBLAS_COMPUTE_32F = 68,
    UNIRT_CUBLAS_OP_N = 0,
    UNIRT_CUBLAS_OP_T = 1,
    UNIRT_CUBLASLT_MATMUL_DESC_TRANSA = 3,
    UNIRT_CUBLASLT_MATMUL_DESC_TRANSB = 4,
    UNIRT_CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    UNIRT_CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    UNIRT_CUBLASLT_EPILOGUE_DEFAULT = 1,
    UNIRT_CUBLASLT_EPILOGUE_RELU = 2,
    UNIRT_CUBLASLT_EPILOGUE_BIAS = 4,
    UNIRT_CUBLASLT_EPILOGUE_RELU_BIAS = 6,
    UNIRT_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
};

typedef struct unirt_cuda_cublaslt {
    size_t (*cublasLtGetVersion)(void);
    cublasStatus_t (*cublasLtCreate)(cublasLtHandle_t *handle);
    cublasStatus_t (*cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *desc, int computeType, int scaleType);
    cublasStatus_t (*cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t desc);
    cublasStatus_t (*cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t desc, int attribute, const void *value, size_t size);
    cublasStatus_t (*cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *layout, int type, uint64_t rows, uint64_t cols, int64_t ld);
    cublasStatus_t (*cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t layout);
    cublasStatus_t (*cublasLtMatmulPreferenceCreate)(cublasLtMatmulPreference_t *preference);
    cublasStatus_t (*cublasLtMatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t preference, int attribute,
                                                           const void *value, size_t size);
    cublasStatus_t (*cublasLtMatmulAlgoGetHeuristic)(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                     cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                     cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                                     cublasLtMatmulPreference_t preference, int requested,
                                                     cublasLtMatmulHeuristicResult_t *results, int *returned);
    cublasStatus_t (*cublasLtMatmul)(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha,
                                     const void *a, cublasLtMatrixLayout_t aLayout, const void *b,
                                     cublasLtMatrixLayout_t bLayout, const void *beta, const void *c,
                                     cublasLtMatrixLayout_t cLayout, void *d, cublasLtMatrixLayout_t dLayout,
                                     const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceBytes,
                                     CUstream stream);
} unirt_cuda_cublaslt;

/* ---- cuDNN 9 (legacy convolution API) ------------------------------------- */
typedef int cudnnStatus_t;
typedef struct cudnnContext *cudnnHandle_t;
typedef struct cudnnTensorStruct *cudnnTensorDescriptor_t;
typedef struct cudnnFilterStruct *cudnnFilterDescriptor_t;
typedef struct cudnnConvolutionStruct *cudnnConvolutionDescriptor_t;
typedef struct cudnnActivationStruct *cudnnActivationDescriptor_t;
typedef struct {
    int algo;
    cudnnStatus_t status;
    float time;
    size_t memory;
    int determinism;
    int mathType;
    int reserved[3];
} cudnnConvolutionFwdAlgoPerf_t;

enum {
    UNIRT_CUDNN_TENSOR_NCHW = 0,
    UNIRT_CUDNN_TENSOR_NHWC = 1,
    UNIRT_CUDNN_DATA_FLOAT = 0,
    UNIRT_CUDNN_DATA_HALF = 2,
    UNIRT_CUDNN_CROSS_CORRELATION = 1,
    UNIRT_CUDNN_DEFAULT_MATH = 0,
    UNIRT_CUDNN_TENSOR_OP_MATH = 1,
    UNIRT_CUDNN_FMA_MATH = 3,
    UNIRT_CUDNN_ACTIVATION_RELU = 1,
    UNIRT_CUDNN_ACTIVATION_IDENTITY = 5,
    UNIRT_CUDNN_NOT_PROPAGATE_NAN = 0,
    UNIRT_CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
};

typedef struct unirt_cuda_cudnn {
    size_t (*cudnnGetVersion)(void);
    const char *(*cudnnGetErrorString)(cudnnStatus_t status);
    cudnnStatus_t (*cudnnCreate)(cudnnHandle_t *handle);
    cudnnStatus_t (*cudnnSetStream)(cudnnHandle_t handle, CUstream stream);
    cudnnStatus_t (*cudnnCreateTensorDescriptor)(cudnnTensorDescriptor_t *desc);
    cudnnStatus_t (*cudnnSetTensor4dDescriptor)(cudnnTensorDescriptor_t desc, int format, int dataType,
                                                int n, int c, int h, int w);
    cudnnStatus_t (*cudnnCreateFilterDescriptor)(cudnnFilterDescriptor_t *desc);
    cudnnStatus_t (*cudnnSetFilter4dDescriptor)(cudnnFilterDescriptor_t desc, int dataType, int format,
                                                int k, int c, int h, int w);
    cudnnStatus_t (*cudnnCreateConvolutionDescriptor)(cudnnConvolutionDescriptor_t *desc);
    cudnnStatus_t (*cudnnSetConvolution2dDescriptor)(cudnnConvolutionDescriptor_t desc, int padH, int padW,
                                                     int strideH, int strideW, int dilationH, int dilationW,
                                                     int mode, int computeType);
    cudnnStatus_t (*cudnnSetConvolutionGroupCount)(cudnnConvolutionDescriptor_t desc, int groups);
    cudnnStatus_t (*cudnnSetConvolutionMathType)(cudnnConvolutionDescriptor_t desc, int mathType);
    cudnnStatus_t (*cudnnFindConvolutionForwardAlgorithm)(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                          cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                          cudnnTensorDescriptor_t y, int requested, int *returned,
                                                          cudnnConvolutionFwdAlgoPerf_t *results);
    cudnnStatus_t (*cudnnGetConvolutionForwardWorkspaceSize)(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                             cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                             cudnnTensorDescriptor_t y, int algo, size_t *bytes);
    cudnnStatus_t (*cudnnConvolutionForward)(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t xDesc,
                                             const void *x, cudnnFilterDescriptor_t wDesc, const void *w,
                                             cudnnConvolutionDescriptor_t conv, int algo, void *workspace,
                                             size_t workspaceBytes, const void *beta, cudnnTensorDescriptor_t yDesc,
                                             void *y);
    cudnnStatus_t (*cudnnConvolutionBiasActivationForward)(
        cudnnHandle_t handle, const void *alpha1, cudnnTensorDescriptor_t xDesc, const void *x,
        cudnnFilterDescriptor_t wDesc, const void *w, cudnnConvolutionDescriptor_t conv, int algo,
        void *workspace, size_t workspaceBytes, const void *alpha2, cudnnTensorDescriptor_t zDesc, const void *z,
        cudnnTensorDescriptor_t biasDesc, const void *bias, cudnnActivationDescriptor_t activation,
        cudnnTensorDescriptor_t yDesc, void *y);
    cudnnStatus_t (*cudnnCreateActivationDescriptor)(cudnnActivationDescriptor_t *desc);
    cudnnStatus_t (*cudnnSetActivationDescriptor)(cudnnActivationDescriptor_t desc, int mode, int nanOpt, double coef);
} unirt_cuda_cudnn;

/* Fill a table from a dlopen handle. Each returns NULL on success, or the name of
 * the first symbol the library does not export (a static string). */
const char *unirt_cuda_resolve_driver(void *handle, unirt_cuda_driver *api);
const char *unirt_cuda_resolve_nvrtc(void *handle, unirt_cuda_nvrtc *api);
const char *unirt_cuda_resolve_cublaslt(void *handle, unirt_cuda_cublaslt *api);
const char *unirt_cuda_resolve_cudnn(void *handle, unirt_cuda_cudnn *api);

/* dlopen(path, RTLD_NOW | RTLD_LOCAL); on failure NULL with dlerror's text in `why`. */
void *unirt_cuda_dlopen(const char *path, char *why, size_t whyBytes);

#endif
