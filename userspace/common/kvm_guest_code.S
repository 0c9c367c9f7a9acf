/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest of kvm_guest.c: a command interpreter in 32-bit flat protected
 * mode (paging off), loaded at KG_CODE_GPA.
 *
 * It is assembled as data into the host program: kvm_guest.c copies the
 * bytes between kg_guest_code_start and kg_guest_code_end into the guest's
 * RAM.  Everything here is position independent (relative jumps, absolute
 * addresses only for the mailbox), so it needs no linking for the guest.
 *
 * The loop: read the command from the mailbox, do it, store the result in
 * the mailbox and report it with one 4-byte OUT to KG_PORT_DONE.  The host
 * writes the next command while the vCPU is stopped on that OUT, so the
 * guest re-reads the mailbox at the top of the loop.  No stack is used.
 */
#include "kvm_guest.h"

#define MAILBOX(field)	(KG_MAILBOX_GPA + KG_MB_##field)

	.section .rodata
	.globl kg_guest_code_start
	.globl kg_guest_code_end
	.code32

kg_guest_code_start:
command_loop:
	movl	MAILBOX(CMD), %eax
	movl	MAILBOX(ADDR), %ebx
	cmpl	$KG_CMD_NOP_NR, %eax
	je	do_nop
	cmpl	$KG_CMD_READ32_NR, %eax
	je	do_read32
	cmpl	$KG_CMD_WRITE32_NR, %eax
	je	do_write32
	cmpl	$KG_CMD_SSE_WRITE32_NR, %eax
	je	do_sse_write32
	cmpl	$KG_CMD_TOUCH_PAGES_NR, %eax
	je	do_touch_pages
	cmpl	$KG_CMD_READ_RANGE_NR, %eax
	je	do_read_range
	cmpl	$KG_CMD_WRITE_RANGE_NR, %eax
	je	do_write_range
	/* Unknown command: report it and wait for the next one. */
	outl	%eax, $KG_PORT_BAD_COMMAND
	jmp	command_loop

do_nop:
	xorl	%ecx, %ecx
	jmp	report

do_read32:
	movl	(%ebx), %ecx
	jmp	report

do_write32:
	movl	MAILBOX(VALUE), %ecx
	movl	%ecx, (%ebx)
	xorl	%ecx, %ecx
	jmp	report

do_sse_write32:
	/* The store is the SSE one; loading xmm0 from RAM is ordinary. */
	movd	MAILBOX(VALUE), %xmm0
	movd	%xmm0, (%ebx)
	xorl	%ecx, %ecx
	jmp	report

	/*
	 * The range commands: %ebx walks from addr to %esi = addr + value
	 * (the host checked that it does not wrap), %ecx folds the words.
	 */
do_touch_pages:
	movl	MAILBOX(VALUE), %esi
	addl	%ebx, %esi
	xorl	%ecx, %ecx
touch_next:
	cmpl	%esi, %ebx
	jae	report
	xorl	(%ebx), %ecx
	addl	$KG_GUEST_PAGE, %ebx
	jmp	touch_next

do_read_range:
	movl	MAILBOX(VALUE), %esi
	addl	%ebx, %esi
	xorl	%ecx, %ecx
read_next:
	cmpl	%esi, %ebx
	jae	report
	xorl	(%ebx), %ecx
	addl	$4, %ebx
	jmp	read_next

do_write_range:
	movl	MAILBOX(VALUE), %esi
	addl	%ebx, %esi
	xorl	%ecx, %ecx
write_next:
	cmpl	%esi, %ebx
	jae	report
	movl	%ebx, (%ebx)
	addl	$4, %ebx
	jmp	write_next

report:
	movl	%ecx, MAILBOX(RESULT)
	movl	%ecx, %eax
	outl	%eax, $KG_PORT_DONE
	jmp	command_loop
kg_guest_code_end:

	.section .note.GNU-stack, "", @progbits
