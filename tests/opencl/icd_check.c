/* icd_check - every OpenCL call that tools/device/icd_loader.c forwards, once, on the
   first device: a small kernel runs and its output is read back and checked. Built by
   tests/opencl/test_device_check.sh two ways, as make device-check may build: with the
   built-in loader (cc ... tools/device/icd_loader.c -ldl; -DCHECK_POSITIONS adds
   compile-time checks of the loader's dispatch positions against Khronos' CL/cl_icd.h)
   and linked with the machine's libOpenCL.so.1 by its path (no -dev package). Prints
   PASS/FAIL lines. */
#define CL_TARGET_OPENCL_VERSION 120
#ifdef CHECK_POSITIONS
#include "../../tools/device/icd_loader.c"
#include <CL/cl_icd.h>
#include <stddef.h>
#define AT(name, pos) typedef char check_##name[offsetof(struct _cl_icd_dispatch, cl##name) / sizeof(void *) == (pos) ? 1 : -1];
AT(GetPlatformIDs, D_GetPlatformIDs) AT(GetPlatformInfo, D_GetPlatformInfo) AT(GetDeviceIDs, D_GetDeviceIDs)
AT(GetDeviceInfo, D_GetDeviceInfo) AT(CreateContext, D_CreateContext) AT(RetainContext, D_RetainContext)
AT(ReleaseContext, D_ReleaseContext) AT(GetContextInfo, D_GetContextInfo) AT(CreateCommandQueue, D_CreateCommandQueue)
AT(RetainCommandQueue, D_RetainCommandQueue) AT(ReleaseCommandQueue, D_ReleaseCommandQueue)
AT(GetCommandQueueInfo, D_GetCommandQueueInfo) AT(CreateBuffer, D_CreateBuffer) AT(ReleaseMemObject, D_ReleaseMemObject)
AT(CreateProgramWithSource, D_CreateProgramWithSource) AT(ReleaseProgram, D_ReleaseProgram)
AT(BuildProgram, D_BuildProgram) AT(GetProgramBuildInfo, D_GetProgramBuildInfo) AT(CreateKernel, D_CreateKernel)
AT(ReleaseKernel, D_ReleaseKernel) AT(SetKernelArg, D_SetKernelArg) AT(GetKernelWorkGroupInfo, D_GetKernelWorkGroupInfo)
AT(Finish, D_Finish) AT(EnqueueReadBuffer, D_EnqueueReadBuffer) AT(EnqueueWriteBuffer, D_EnqueueWriteBuffer)
AT(EnqueueNDRangeKernel, D_EnqueueNDRangeKernel) AT(EnqueueReadBufferRect, D_EnqueueReadBufferRect)
AT(EnqueueBarrierWithWaitList, D_EnqueueBarrierWithWaitList)
#else
#include <CL/cl.h>
#endif
#include <stdio.h>
#include <string.h>

static const char *src = "kernel void twice(global const float *a, global float *b) { b[get_global_id(0)] = 2.0f * a[get_global_id(0)]; }\n";

int main(int argc, char **argv)
{
    cl_platform_id plat;
    cl_device_id dev;
    cl_context ctx;
    cl_command_queue q;
    cl_program prog;
    cl_kernel k;
    cl_mem a, b;
    cl_uint np = 0, nd = 0, refs = 0;
    cl_int e = CL_SUCCESS;
    char name[256] = "", log[256] = "";
    float in[64], out[64], rect[8];
    size_t i, global = 64, wg = 0, zero[3] = {0, 0, 0}, region[3] = {8 * sizeof(float), 1, 1};
    const char *label = argc > 1 ? argv[1] : "icd";
    int ok = 1;
    for (i = 0; i < 64; i++) in[i] = (float)i;
    if (clGetPlatformIDs(1, &plat, &np) != CL_SUCCESS || np == 0 ||
        clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof name, name, NULL) != CL_SUCCESS ||
        clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, &nd) != CL_SUCCESS ||
        clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL) != CL_SUCCESS) {
        printf("FAIL: %s: no platform or device (%u platforms)\n", label, (unsigned)np);
        return 1;
    }
    ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    q = ctx ? clCreateCommandQueue(ctx, dev, 0, &e) : NULL;
    a = q ? clCreateBuffer(ctx, CL_MEM_READ_ONLY, sizeof in, NULL, &e) : NULL;
    b = a ? clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, sizeof out, NULL, &e) : NULL;
    prog = b ? clCreateProgramWithSource(ctx, 1, &src, NULL, &e) : NULL;
    if (!prog) {
        printf("FAIL: %s: context, queue, buffers or program: error %d\n", label, (int)e);
        return 1;
    }
    ok = clRetainContext(ctx) == CL_SUCCESS && clReleaseContext(ctx) == CL_SUCCESS &&
         clGetContextInfo(ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL) == CL_SUCCESS &&
         clRetainCommandQueue(q) == CL_SUCCESS && clReleaseCommandQueue(q) == CL_SUCCESS &&
         clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, NULL) == CL_SUCCESS && refs == 1 &&
         clBuildProgram(prog, 1, &dev, "-cl-std=CL1.2", NULL, NULL) == CL_SUCCESS &&
         clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL) == CL_SUCCESS;
    k = ok ? clCreateKernel(prog, "twice", &e) : NULL;
    ok = ok && k && clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) == CL_SUCCESS &&
         wg >= 1 && clSetKernelArg(k, 0, sizeof a, &a) == CL_SUCCESS && clSetKernelArg(k, 1, sizeof b, &b) == CL_SUCCESS &&
         clEnqueueWriteBuffer(q, a, CL_TRUE, 0, sizeof in, in, 0, NULL, NULL) == CL_SUCCESS &&
         clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL) == CL_SUCCESS &&
         clEnqueueBarrierWithWaitList(q, 0, NULL, NULL) == CL_SUCCESS && clFinish(q) == CL_SUCCESS &&
         clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL) == CL_SUCCESS &&
         clEnqueueReadBufferRect(q, b, CL_TRUE, zero, zero, region, 0, 0, 0, 0, rect, 0, NULL, NULL) == CL_SUCCESS;
    for (i = 0; ok && i < 64; i++) ok = out[i] == 2.0f * in[i] && (i >= 8 || rect[i] == out[i]);
    if (k) clReleaseKernel(k);
    clReleaseProgram(prog);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    if (ok) printf("PASS: %s: every forwarded call on %s, a kernel's output read back\n", label, name);
    else printf("FAIL: %s: a call failed or the kernel's output is wrong on %s (log: %.100s)\n", label, name, log);
    return !ok;
}
