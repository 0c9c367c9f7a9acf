// SPDX-License-Identifier: GPL-2.0
#include "touch_probe.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int touch_in_child(const volatile void *p, bool write, uint8_t *byte)
{
	volatile uint8_t *addr = (volatile uint8_t *)p;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		/* The caller may catch these; the child must die of them. */
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		if (write) {
			*addr = 0x5a;
			_exit(0);
		}
		_exit(*addr);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	if (byte)
		*byte = write ? 0 : WEXITSTATUS(status);
	return 0;
}

int read_fault_signal(const volatile void *p)
{
	int sig = touch_in_child(p, false, NULL);

	return sig < 0 ? 0 : sig;
}

bool reads_zero_in_child(const volatile void *p)
{
	uint8_t byte = 0xff;

	return touch_in_child(p, false, &byte) == 0 && byte == 0;
}
