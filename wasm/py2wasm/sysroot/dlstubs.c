/* libdl.a for Debian bookworm's wasi-libc, whose own libdl.a is empty: WASI
 * preview 1 has no dynamic linking, so loading always fails with a message.
 * See dlfcn.h. */
#include <dlfcn.h>
#include <stddef.h>

static char message[] = "dynamic libraries are not supported in WASI";
static int failed = 0;

void *dlopen(const char *file, int mode) {
    (void)file;
    (void)mode;
    failed = 1;
    return NULL;
}

void *dlsym(void *handle, const char *name) {
    (void)handle;
    (void)name;
    failed = 1;
    return NULL;
}

char *dlerror(void) {
    if (!failed) {
        return NULL;
    }
    failed = 0;
    return message;
}

int dlclose(void *handle) {
    (void)handle;
    return 0;
}
