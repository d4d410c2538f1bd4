// SPDX-License-Identifier: GPL-2.0
/*
 * kdive-tcp: a process holding sockets, for the ext rig's `tcp` scenario
 * (built with gcc -static; started by the ext holder).
 *
 * fd 3  TCP listener   127.0.0.1:3260
 * fd 4  TCP client     127.0.0.1:<ephemeral> -> 127.0.0.1:3260 (5 bytes sent, unread)
 * fd 5  TCP accepted   127.0.0.1:3260 -> 127.0.0.1:<ephemeral> (3 bytes sent, unread)
 * fd 6  UDP            127.0.0.1:5353, connected to 127.0.0.1:3260
 * fd 7, 8  UNIX stream socketpair
 *
 * It writes its ground truth to /dev/kmsg (one record per line):
 *   TRUTH tcp_pid PID
 *   TRUTH tcp_comm kdive-tcp
 *   TRUTH tcp_fd FD PATH                      (readlink of /proc/self/fd/FD, every fd)
 *   TRUTH tcp_socket FD INODE FAMILY:TYPE SRC DST
 *       INODE is the socket's inode number (fstat), SRC and DST are
 *       ADDR-PORT as crash's `net -s` prints them (0.0.0.0-0 when not
 *       connected; UNIX sockets have "-" for both)
 * then creates READY_FILE and sleeps in pause() until the crash.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define READY_FILE "/tmp/holder/tcp.ready"
#define PORT 3260
#define UDP_PORT 5353

static int kmsg = -1;

static void truth(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "<5>TRUTH ");
	va_list ap;

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (write(kmsg, buf, strlen(buf)) < 0)
		perror("kdive-tcp: /dev/kmsg");
}

static void die(const char *what)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "<5>RIG-ERROR kdive-tcp: %s: %s", what, strerror(errno));
	if (kmsg >= 0)
		write(kmsg, buf, strlen(buf));
	fprintf(stderr, "%s\n", buf + 3);
	exit(1);
}

/* Moves fd to want (want must be free or equal). */
static int move_fd(int fd, int want)
{
	if (fd == want)
		return fd;
	if (dup2(fd, want) < 0)
		die("dup2");
	close(fd);
	return want;
}

static void addr_str(const struct sockaddr_in *a, char *out, size_t n)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(out, n, "%s-%u", ip, ntohs(a->sin_port));
}

static void report_inet(int fd, const char *kind)
{
	struct sockaddr_in src = {0}, dst = {0};
	socklen_t l = sizeof(src);
	char s[64], d[64];
	struct stat st;

	if (getsockname(fd, (struct sockaddr *)&src, &l) < 0)
		die("getsockname");
	l = sizeof(dst);
	if (getpeername(fd, (struct sockaddr *)&dst, &l) < 0) {
		memset(&dst, 0, sizeof(dst));
		dst.sin_family = AF_INET;
	}
	if (fstat(fd, &st) < 0)
		die("fstat");
	addr_str(&src, s, sizeof(s));
	addr_str(&dst, d, sizeof(d));
	truth("tcp_socket %d %lu %s %s %s", fd, (unsigned long)st.st_ino, kind, s, d);
}

static void report_unix(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		die("fstat");
	truth("tcp_socket %d %lu UNIX:STREAM - -", fd, (unsigned long)st.st_ino);
}

int main(void)
{
	struct sockaddr_in a = {0};
	int lfd, cfd, afd, ufd, sp[2], one = 1;
	char path[300], target[256];
	struct dirent *de;
	DIR *dir;
	ssize_t n;

	prctl(PR_SET_NAME, "kdive-tcp");
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg < 0)
		die("open /dev/kmsg");
	/* Keep fds 3.. for the sockets: move /dev/kmsg out of the way. */
	kmsg = move_fd(kmsg, 20);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(PORT);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind 127.0.0.1:3260");
	if (listen(lfd, 8) < 0)
		die("listen");
	lfd = move_fd(lfd, 3);

	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0)
		die("socket");
	if (connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	cfd = move_fd(cfd, 4);

	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	afd = move_fd(afd, 5);

	if (write(cfd, "kdive", 5) != 5 || write(afd, "ext", 3) != 3)
		die("write");

	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ufd < 0)
		die("socket udp");
	a.sin_port = htons(UDP_PORT);
	if (bind(ufd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind 127.0.0.1:5353");
	a.sin_port = htons(PORT);
	if (connect(ufd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect udp");
	ufd = move_fd(ufd, 6);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		die("socketpair");
	sp[0] = move_fd(sp[0], 7);
	sp[1] = move_fd(sp[1], 8);

	truth("tcp_pid %d", getpid());
	truth("tcp_comm kdive-tcp");
	report_inet(lfd, "INET:STREAM");
	report_inet(cfd, "INET:STREAM");
	report_inet(afd, "INET:STREAM");
	report_inet(ufd, "INET:DGRAM");
	report_unix(sp[0]);
	report_unix(sp[1]);

	dir = opendir("/proc/self/fd");
	if (!dir)
		die("opendir /proc/self/fd");
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		truth("tcp_fd %s %s", de->d_name, target);
	}
	closedir(dir);

	n = open(READY_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (n < 0)
		die("create " READY_FILE);
	close(n);
	for (;;)
		pause();
}
