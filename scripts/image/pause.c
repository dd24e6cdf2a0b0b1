/*
 * The pod sandbox process ("pause"), written for ray-static after the behaviour of Kubernetes'
 * build/pause/linux/pause.c: it keeps the pod's namespaces alive, reaps the zombies that orphaned
 * processes leave in a shared PID namespace, and exits 0 on SIGINT or SIGTERM so a pod stops promptly.
 * Built static (gcc -static -Os) as the only file of the pause image.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "dev"
#endif

static void stop(int sig) {
  static const char msg[] = "pause: stopping on signal\n";
  (void)sig;
  /* Only async-signal-safe calls in a handler: write(2) and _exit(2). */
  if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
  }
  _exit(0);
}

static void reap(int sig) {
  int saved = errno;
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int on_signal(int sig, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
    printf("pause %s (ray-static)\n", PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1) {
    /* Still useful outside a sandbox (e.g. as a placeholder process), so only a warning. */
    fputs("pause: warning: not running as PID 1\n", stderr);
  }
  if (on_signal(SIGINT, stop, 0) < 0 || on_signal(SIGTERM, stop, 0) < 0 ||
      on_signal(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART) < 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
}
