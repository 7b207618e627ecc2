// The host build of the GPU pipelines: the same source as device.cu, on thrust's serial CPP
// backend over host memory (compiled with -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP).
// The tests compare it with the CPU core, so the GPU algorithms are checked without a GPU.
#include "pipeline.hpp"
