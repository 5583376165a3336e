/* icd_loader.c - a minimal OpenCL ICD loader, for `make device-check` on a machine that
   has a vendor's OpenCL driver but not the loader library libOpenCL.so.1 (Khronos' or
   ocl-icd), e.g. a GPU node with NVIDIA's driver and no package access.

   It does what those loaders do, for the OpenCL calls fcn_opencl.h, test_opencl and
   bench_opencl make: reads the *.icd files of the folder $OCL_ICD_VENDORS (or that one
   file, if it names an .icd file; else /etc/OpenCL/vendors), each a line naming a
   driver library; dlopens each; asks its clGetExtensionFunctionAddress for
   clIcdGetPlatformIDsKHR and lists its platforms. Every object of an ICD driver
   (platform, device, context, queue, buffer, program, kernel) starts with a pointer to
   the driver's dispatch table (the cl_khr_icd ABI), so each call is forwarded through
   the table of its first object argument. The table is Khronos' struct
   _cl_icd_dispatch (CL/cl_icd.h), of which the entries used here are named below by
   position; tests/opencl/test_device_check.sh checks the positions against cl_icd.h
   where it is installed.

   Build it into the program instead of linking -lOpenCL: cc ... icd_loader.c -ldl. */
#define _POSIX_C_SOURCE 200809L
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Positions in struct _cl_icd_dispatch. */
enum {
    D_GetPlatformIDs = 0, D_GetPlatformInfo = 1, D_GetDeviceIDs = 2, D_GetDeviceInfo = 3, D_CreateContext = 4,
    D_RetainContext = 6, D_ReleaseContext = 7, D_GetContextInfo = 8, D_CreateCommandQueue = 9,
    D_RetainCommandQueue = 10, D_ReleaseCommandQueue = 11, D_GetCommandQueueInfo = 12, D_CreateBuffer = 14,
    D_ReleaseMemObject = 18, D_CreateProgramWithSource = 26, D_ReleaseProgram = 29, D_BuildProgram = 30,
    D_GetProgramBuildInfo = 33, D_CreateKernel = 34, D_ReleaseKernel = 37, D_SetKernelArg = 38,
    D_GetKernelWorkGroupInfo = 40, D_Finish = 47, D_EnqueueReadBuffer = 48, D_EnqueueWriteBuffer = 49,
    D_EnqueueNDRangeKernel = 59, D_EnqueueReadBufferRect = 86, D_EnqueueBarrierWithWaitList = 106
};

typedef void (*icd_fn)(void);

/* Entry i of the dispatch table of an ICD object. */
static icd_fn slot(const void *object, int i)
{
    icd_fn *table = *(icd_fn *const *)object;
    return table[i];
}

#define MAX_PLATFORMS 64
static cl_platform_id platforms[MAX_PLATFORMS];
static cl_uint n_platforms;
static int scanned;

typedef cl_int (*icd_get_platforms)(cl_uint, cl_platform_id *, cl_uint *);
typedef void *(*get_extension)(const char *);

/* The platforms of the driver library named on the first line of an .icd file. */
static void add_vendor(const char *icd)
{
    char lib[4096];
    size_t n;
    FILE *f = fopen(icd, "r");
    void *h;
    get_extension ext = NULL;
    icd_get_platforms get = NULL;
    cl_uint count = 0;
    if (!f) return;
    if (!fgets(lib, sizeof lib, f)) lib[0] = '\0';
    fclose(f);
    for (n = strlen(lib); n > 0 && (lib[n - 1] == '\n' || lib[n - 1] == '\r' || lib[n - 1] == ' '); n--) lib[n - 1] = '\0';
    if (!lib[0] || !(h = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) return;
    *(void **)&ext = dlsym(h, "clGetExtensionFunctionAddress");
    if (ext) *(void **)&get = ext("clIcdGetPlatformIDsKHR");
    if (!get) *(void **)&get = dlsym(h, "clIcdGetPlatformIDsKHR");
    if (!get || get(0, NULL, &count) != CL_SUCCESS || count == 0) return; /* h stays open: harmless */
    if (count > MAX_PLATFORMS - n_platforms) count = MAX_PLATFORMS - n_platforms;
    if (get(count, platforms + n_platforms, NULL) == CL_SUCCESS) n_platforms += count;
}

static int is_icd(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".icd") == 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every vendor of the folder (or the one .icd file), in name order. */
static void scan(void)
{
    const char *dir = getenv("OCL_ICD_VENDORS");
    char *names[256], path[4096];
    int n = 0, i;
    DIR *d;
    struct dirent *e;
    scanned = 1;
    if (!dir || !dir[0]) dir = "/etc/OpenCL/vendors";
    if (is_icd(dir) && (d = opendir(dir)) == NULL) {
        add_vendor(dir);
        return;
    }
    if (!(d = opendir(dir))) return;
    while ((e = readdir(d)) != NULL && n < 256)
        if (is_icd(e->d_name) && (names[n] = (char *)malloc(strlen(e->d_name) + 1)) != NULL) strcpy(names[n++], e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        add_vendor(path);
        free(names[i]);
    }
}

CL_API_ENTRY cl_int CL_API_CALL clGetPlatformIDs(cl_uint num, cl_platform_id *list, cl_uint *count)
{
    cl_uint i;
    if (!scanned) scan();
    if ((num == 0 && list) || (!list && !count)) return CL_INVALID_VALUE;
    if (count) *count = n_platforms;
    if (n_platforms == 0) return -1001; /* CL_PLATFORM_NOT_FOUND_KHR, as the loaders say */
    for (i = 0; list && i < num && i < n_platforms; i++) list[i] = platforms[i];
    return CL_SUCCESS;
}

/* The calls below forward to the driver of their first object (a NULL one is refused
   with the error the driver would give). */
#define FORWARD(obj, bad, index, type, args)                                                                            \
    do {                                                                                                                \
        if (!(obj)) return bad;                                                                                         \
        return ((type)slot(obj, index))args;                                                                            \
    } while (0)

/* Every handle is a pointer to a driver's object: one function type serves the Info
   calls of all of them, and one their Retain and Release. */
typedef cl_int (*info_fn)(void *, cl_uint, size_t, void *, size_t *);
typedef cl_int (*one_fn)(void *);

CL_API_ENTRY cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id p, cl_platform_info w, size_t n, void *v, size_t *r)
{
    FORWARD(p, CL_INVALID_PLATFORM, D_GetPlatformInfo, info_fn, ((void *)p, w, n, v, r));
}

CL_API_ENTRY cl_int CL_API_CALL clGetDeviceIDs(cl_platform_id p, cl_device_type t, cl_uint num, cl_device_id *list,
                                               cl_uint *count)
{
    typedef cl_int (*fn)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
    if (!p) {
        if (!scanned) scan();
        p = n_platforms ? platforms[0] : NULL;
    }
    FORWARD(p, CL_INVALID_PLATFORM, D_GetDeviceIDs, fn, (p, t, num, list, count));
}

CL_API_ENTRY cl_int CL_API_CALL clGetDeviceInfo(cl_device_id d, cl_device_info w, size_t n, void *v, size_t *r)
{
    FORWARD(d, CL_INVALID_DEVICE, D_GetDeviceInfo, info_fn, ((void *)d, w, n, v, r));
}

CL_API_ENTRY cl_context CL_API_CALL clCreateContext(const cl_context_properties *props, cl_uint n,
                                                    const cl_device_id *devs,
                                                    void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *),
                                                    void *user, cl_int *e)
{
    typedef cl_context (*fn)(const cl_context_properties *, cl_uint, const cl_device_id *,
                             void(CL_CALLBACK *)(const char *, const void *, size_t, void *), void *, cl_int *);
    if (!devs || n == 0 || !devs[0]) {
        if (e) *e = CL_INVALID_VALUE;
        return NULL;
    }
    return ((fn)slot(devs[0], D_CreateContext))(props, n, devs, notify, user, e);
}

CL_API_ENTRY cl_int CL_API_CALL clRetainContext(cl_context c) { FORWARD(c, CL_INVALID_CONTEXT, D_RetainContext, one_fn, (c)); }
CL_API_ENTRY cl_int CL_API_CALL clReleaseContext(cl_context c) { FORWARD(c, CL_INVALID_CONTEXT, D_ReleaseContext, one_fn, (c)); }

CL_API_ENTRY cl_int CL_API_CALL clGetContextInfo(cl_context c, cl_context_info w, size_t n, void *v, size_t *r)
{
    FORWARD(c, CL_INVALID_CONTEXT, D_GetContextInfo, info_fn, ((void *)c, w, n, v, r));
}

CL_API_ENTRY cl_command_queue CL_API_CALL clCreateCommandQueue(cl_context c, cl_device_id d,
                                                               cl_command_queue_properties p, cl_int *e)
{
    typedef cl_command_queue (*fn)(cl_context, cl_device_id, cl_command_queue_properties, cl_int *);
    if (!c) {
        if (e) *e = CL_INVALID_CONTEXT;
        return NULL;
    }
    return ((fn)slot(c, D_CreateCommandQueue))(c, d, p, e);
}

CL_API_ENTRY cl_int CL_API_CALL clRetainCommandQueue(cl_command_queue q)
{
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_RetainCommandQueue, one_fn, (q));
}
CL_API_ENTRY cl_int CL_API_CALL clReleaseCommandQueue(cl_command_queue q)
{
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_ReleaseCommandQueue, one_fn, (q));
}

CL_API_ENTRY cl_int CL_API_CALL clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info w, size_t n, void *v,
                                                      size_t *r)
{
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_GetCommandQueueInfo, info_fn, ((void *)q, w, n, v, r));
}

CL_API_ENTRY cl_mem CL_API_CALL clCreateBuffer(cl_context c, cl_mem_flags f, size_t size, void *host, cl_int *e)
{
    typedef cl_mem (*fn)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
    if (!c) {
        if (e) *e = CL_INVALID_CONTEXT;
        return NULL;
    }
    return ((fn)slot(c, D_CreateBuffer))(c, f, size, host, e);
}

CL_API_ENTRY cl_int CL_API_CALL clReleaseMemObject(cl_mem m) { FORWARD(m, CL_INVALID_MEM_OBJECT, D_ReleaseMemObject, one_fn, (m)); }

CL_API_ENTRY cl_program CL_API_CALL clCreateProgramWithSource(cl_context c, cl_uint n, const char **src,
                                                              const size_t *len, cl_int *e)
{
    typedef cl_program (*fn)(cl_context, cl_uint, const char **, const size_t *, cl_int *);
    if (!c) {
        if (e) *e = CL_INVALID_CONTEXT;
        return NULL;
    }
    return ((fn)slot(c, D_CreateProgramWithSource))(c, n, src, len, e);
}

CL_API_ENTRY cl_int CL_API_CALL clReleaseProgram(cl_program p) { FORWARD(p, CL_INVALID_PROGRAM, D_ReleaseProgram, one_fn, (p)); }

CL_API_ENTRY cl_int CL_API_CALL clBuildProgram(cl_program p, cl_uint n, const cl_device_id *devs, const char *opts,
                                               void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    typedef cl_int (*fn)(cl_program, cl_uint, const cl_device_id *, const char *, void(CL_CALLBACK *)(cl_program, void *),
                         void *);
    FORWARD(p, CL_INVALID_PROGRAM, D_BuildProgram, fn, (p, n, devs, opts, notify, user));
}

CL_API_ENTRY cl_int CL_API_CALL clGetProgramBuildInfo(cl_program p, cl_device_id d, cl_program_build_info w, size_t n,
                                                      void *v, size_t *r)
{
    typedef cl_int (*fn)(cl_program, cl_device_id, cl_program_build_info, size_t, void *, size_t *);
    FORWARD(p, CL_INVALID_PROGRAM, D_GetProgramBuildInfo, fn, (p, d, w, n, v, r));
}

CL_API_ENTRY cl_kernel CL_API_CALL clCreateKernel(cl_program p, const char *name, cl_int *e)
{
    typedef cl_kernel (*fn)(cl_program, const char *, cl_int *);
    if (!p) {
        if (e) *e = CL_INVALID_PROGRAM;
        return NULL;
    }
    return ((fn)slot(p, D_CreateKernel))(p, name, e);
}

CL_API_ENTRY cl_int CL_API_CALL clReleaseKernel(cl_kernel k) { FORWARD(k, CL_INVALID_KERNEL, D_ReleaseKernel, one_fn, (k)); }

CL_API_ENTRY cl_int CL_API_CALL clSetKernelArg(cl_kernel k, cl_uint i, size_t n, const void *v)
{
    typedef cl_int (*fn)(cl_kernel, cl_uint, size_t, const void *);
    FORWARD(k, CL_INVALID_KERNEL, D_SetKernelArg, fn, (k, i, n, v));
}

CL_API_ENTRY cl_int CL_API_CALL clGetKernelWorkGroupInfo(cl_kernel k, cl_device_id d, cl_kernel_work_group_info w,
                                                         size_t n, void *v, size_t *r)
{
    typedef cl_int (*fn)(cl_kernel, cl_device_id, cl_kernel_work_group_info, size_t, void *, size_t *);
    FORWARD(k, CL_INVALID_KERNEL, D_GetKernelWorkGroupInfo, fn, (k, d, w, n, v, r));
}

CL_API_ENTRY cl_int CL_API_CALL clFinish(cl_command_queue q) { FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_Finish, one_fn, (q)); }

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t n,
                                                    void *p, cl_uint ne, const cl_event *wl, cl_event *ev)
{
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint, const cl_event *, cl_event *);
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_EnqueueReadBuffer, fn, (q, m, block, off, n, p, ne, wl, ev));
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t n,
                                                     const void *p, cl_uint ne, const cl_event *wl, cl_event *ev)
{
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint, const cl_event *,
                         cl_event *);
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_EnqueueWriteBuffer, fn, (q, m, block, off, n, p, ne, wl, ev));
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *off,
                                                       const size_t *global, const size_t *local, cl_uint ne,
                                                       const cl_event *wl, cl_event *ev)
{
    typedef cl_int (*fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint,
                         const cl_event *, cl_event *);
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_EnqueueNDRangeKernel, fn, (q, k, dims, off, global, local, ne, wl, ev));
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBufferRect(cl_command_queue q, cl_mem m, cl_bool block, const size_t *bo,
                                                        const size_t *ho, const size_t *region, size_t brp, size_t bsp,
                                                        size_t hrp, size_t hsp, void *p, cl_uint ne, const cl_event *wl,
                                                        cl_event *ev)
{
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, const size_t *, const size_t *, const size_t *, size_t, size_t,
                         size_t, size_t, void *, cl_uint, const cl_event *, cl_event *);
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_EnqueueReadBufferRect, fn, (q, m, block, bo, ho, region, brp, bsp, hrp, hsp, p, ne, wl, ev));
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueBarrierWithWaitList(cl_command_queue q, cl_uint ne, const cl_event *wl,
                                                             cl_event *ev)
{
    typedef cl_int (*fn)(cl_command_queue, cl_uint, const cl_event *, cl_event *);
    FORWARD(q, CL_INVALID_COMMAND_QUEUE, D_EnqueueBarrierWithWaitList, fn, (q, ne, wl, ev));
}
