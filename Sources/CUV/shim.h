#ifndef UNIRT_CUV_SHIM_H
#define UNIRT_CUV_SHIM_H
/* No _GNU_SOURCE here: it would change glibc's struct definitions inside this
 * module and clash with Swift's own Glibc module. GNU-only calls go through
 * syscall(2) and GNU-only constants are spelled out (Linux ABI values). */
#include <uv.h>
#include <sys/syscall.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>
#include <stddef.h>
#include <malloc.h>

/* Small socket helpers whose C macros (CMSG_*) and GNU structs (ucred) do not
 * import into Swift. All return -1 with errno set on failure. */

/* The peer's uid and pid of a connected Unix socket (SO_PEERCRED). */
static inline int unirt_sock_peer(int fd, unsigned *uid, int *pid) {
    struct { int pid; unsigned uid; unsigned gid; } cred; /* struct ucred */
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, 17 /* SO_PEERCRED */, &cred, &len) != 0) return -1;
    *uid = cred.uid;
    *pid = cred.pid;
    return 0;
}

/* recvmsg that also collects up to max_fds passed descriptors (SCM_RIGHTS,
 * close-on-exec). Returns bytes read; *nfds is set to the descriptors received. */
static inline ssize_t unirt_sock_recv(int fd, void *buf, size_t len, int *fds, int max_fds, int *nfds) {
    char control[CMSG_SPACE(sizeof(int) * 16)];
    struct iovec iov = { buf, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    *nfds = 0;
    ssize_t n = recvmsg(fd, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */ | MSG_DONTWAIT);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *passed = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            if (*nfds < max_fds) fds[(*nfds)++] = passed[i];
            else close(passed[i]);
        }
    }
    return n;
}

/* send of len bytes carrying one descriptor (SCM_RIGHTS) with the first byte. */
static inline ssize_t unirt_sock_send_fd(int fd, const void *buf, size_t len, int passed) {
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = { (void *)buf, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &passed, sizeof(int));
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* An anonymous shared-memory file of `size` bytes (memfd, close-on-exec). */
static inline int unirt_memfd(const char *name, size_t size) {
    int fd = (int)syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

/* Binds a Unix stream socket at path (which must fit sun_path). */
static inline int unirt_sock_bind_unix(int fd, const char *path) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    return bind(fd, (struct sockaddr *)&addr, sizeof addr);
}

/* Connects a Unix stream socket to path. */
static inline int unirt_sock_connect_unix(int fd, const char *path) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    return connect(fd, (struct sockaddr *)&addr, sizeof addr);
}

/* Sends a datagram to a Unix socket path; a leading '@' names the abstract
 * namespace (as systemd's NOTIFY_SOCKET does). */
static inline int unirt_sock_send_datagram(const char *path, const char *text) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof addr.sun_path) { errno = EINVAL; return -1; }
    memcpy(addr.sun_path, path, n);
    if (path[0] == '@') addr.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ssize_t r = sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&addr,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    int e = errno;
    close(fd);
    errno = e;
    return r < 0 ? -1 : 0;
}

/* accept4 without the peer address (its transparent-union argument does not import). */
static inline int unirt_sock_accept(int fd, int flags) {
    return (int)syscall(SYS_accept4, fd, NULL, NULL, flags);
}

/* Whether fd is a listening Unix stream socket (for LISTEN_FDS). */
static inline int unirt_sock_is_unix_listener(int fd) {
    int type = 0, listening = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return 0;
    len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) return 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return 0;
    return type == SOCK_STREAM && listening && ss.ss_family == AF_UNIX;
}
/* Keeps allocations below `mmap_bytes` on the heap (instead of a fresh mmap each)
   and lets up to `trim_bytes` of freed memory stay for reuse (glibc mallopt). */
static inline void unirt_malloc_tune(int mmap_bytes, int trim_bytes) {
    mallopt(M_MMAP_THRESHOLD, mmap_bytes);
    mallopt(M_TRIM_THRESHOLD, trim_bytes);
}
/* Returns the free pages of every malloc arena to the system (after a model is
   unloaded, when its weights and arena are freed at once). */
static inline void unirt_malloc_release(void) { malloc_trim(0); }

#endif
