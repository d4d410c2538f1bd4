// SPDX-License-Identifier: GPL-2.0
/*
 * kdive-mt: a multi-threaded process for the ext rig's `mthread` scenario
 * (built with gcc -static -pthread; started by the ext holder).
 *
 * Threads, each named with prctl(PR_SET_NAME), each asleep in its own way:
 *   kdive-mt      (the main thread) pause()
 *   mt-nanosleep  nanosleep() of an hour, in a loop
 *   mt-futex      pthread_cond_wait() (futex)
 *   mt-read       read() of a pipe nobody writes
 *   mt-poll       poll() of that pipe, no timeout
 *   mt-epoll      epoll_wait() on an epoll set holding that pipe
 *
 * It writes its ground truth to /dev/kmsg (one record per line):
 *   TRUTH mt_tgid TGID
 *   TRUTH mt_thread TID COMM WAIT      (one per thread, the main thread first;
 *                                       WAIT names the call it sleeps in)
 * then creates READY_FILE. The threads report their tid before they block,
 * so they are asleep a moment after READY_FILE appears (the holder waits
 * for the task count to settle before it crashes the kernel).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define READY_FILE "/tmp/holder/mt.ready"
#define NTHREADS 5

static int kmsg = -1;
static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t started;

struct thread {
	const char *comm;
	const char *wait;
	void (*block)(void);
	pid_t tid;
};

static void truth(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "<5>TRUTH ");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (write(kmsg, buf, strlen(buf)) < 0)
		perror("kdive-mt: /dev/kmsg");
}

static void die(const char *what)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "<5>RIG-ERROR kdive-mt: %s: %s", what, strerror(errno));
	if (kmsg >= 0)
		write(kmsg, buf, strlen(buf));
	fprintf(stderr, "%s\n", buf + 3);
	exit(1);
}

static void block_nanosleep(void)
{
	struct timespec ts = {.tv_sec = 3600};

	for (;;)
		nanosleep(&ts, NULL);
}

static void block_futex(void)
{
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&never, &mu);
}

static void block_read(void)
{
	char c;

	for (;;)
		read(pipefd[0], &c, 1);
}

static void block_poll(void)
{
	struct pollfd p = {.fd = pipefd[0], .events = POLLIN};

	for (;;)
		poll(&p, 1, -1);
}

static void block_epoll(void)
{
	struct epoll_event ev = {.events = EPOLLIN}, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) < 0)
		die("epoll");
	for (;;)
		epoll_wait(ep, &out, 1, -1);
}

static struct thread threads[NTHREADS] = {
	{"mt-nanosleep", "nanosleep", block_nanosleep},
	{"mt-futex", "futex", block_futex},
	{"mt-read", "read", block_read},
	{"mt-poll", "poll", block_poll},
	{"mt-epoll", "epoll_wait", block_epoll},
};

static void *run(void *arg)
{
	struct thread *t = arg;

	prctl(PR_SET_NAME, t->comm);
	t->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	t->block();
	return NULL;
}

int main(void)
{
	pthread_t th;
	int i, fd;

	prctl(PR_SET_NAME, "kdive-mt");
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg < 0)
		die("open /dev/kmsg");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe");
	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	for (i = 0; i < NTHREADS; i++) {
		errno = pthread_create(&th, NULL, run, &threads[i]);
		if (errno)
			die("pthread_create");
	}
	pthread_barrier_wait(&started);
	truth("mt_tgid %d", getpid());
	truth("mt_thread %d kdive-mt pause", getpid());
	for (i = 0; i < NTHREADS; i++)
		truth("mt_thread %d %s %s", threads[i].tid, threads[i].comm, threads[i].wait);
	fd = open(READY_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create " READY_FILE);
	close(fd);
	for (;;)
		pause();
}
