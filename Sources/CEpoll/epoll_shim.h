// Glibc's Swift module leaves out <sys/epoll.h>; this exposes it to the HTTP1 socket layer.
#include <sys/epoll.h>
