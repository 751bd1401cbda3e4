#pragma once
// Marks element math that is compiled for both the CPU and CUDA kernels.
#if defined(__CUDACC__) || defined(__HIPCC__)
#define HFC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define HFC_HOST_DEVICE inline
#endif
