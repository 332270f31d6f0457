/* The extension module convnet.ops._ckernels: an empty module (so that setuptools builds, installs
   and names the shared library like any extension) whose exported cc_* C functions the ops call
   through ctypes (ops/_clib.py). The kernels: _cconv.c (direct convolution), _cplanes.c (the same on
   NCHW planes for few output channels), _cnorm.c
   (channels-last batch norm), _cact.c (ReLU's gradient), _cpool.c (max pooling), _clayout.c (padded
   copies, bias); _cthreads.c runs them on its worker threads. Compiled for plain x86-64, with
   AVX-512 code selected at run time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "_ckernels.h"

/* 1 when the AVX-512 kernels can run on this CPU, else 0 (the callers then use NumPy). */
int cc_supported(void) {
#ifdef CC_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

static struct PyModuleDef cc_module = {PyModuleDef_HEAD_INIT, "_ckernels",
                                       "C kernels of convnet's ops (called through ctypes).", -1, NULL};

PyMODINIT_FUNC PyInit__ckernels(void) { return PyModule_Create(&cc_module); }
