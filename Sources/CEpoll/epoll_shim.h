// Glibc's Swift module leaves out <sys/epoll.h> and <sys/eventfd.h>; this exposes them to the
// HTTP1 socket layer's event loop.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

// prctl is variadic, which Swift cannot call; names the calling thread (seen in top and perf).
static inline void tensorwall_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
