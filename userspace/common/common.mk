# SPDX-License-Identifier: GPL-2.0
# Code shared by the selftests and userspace/tools, not part of libvshm.
# Include this file and compile $(KVM_GUEST_SRCS) into a program, with
# -I$(KVM_GUEST_DIR):
#
#   include $(TOP)/userspace/common/common.mk
#   prog: prog.c $(KVM_GUEST_SRCS) $(KVM_GUEST_HDRS)
#   	$(CC) $(CFLAGS) -I$(KVM_GUEST_DIR) prog.c $(KVM_GUEST_SRCS) -o $@
#
# kvm_guest_code.S is the guest's code, assembled into the program as data.

KVM_GUEST_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
KVM_GUEST_DIR := $(abspath $(KVM_GUEST_DIR))
KVM_GUEST_SRCS := $(KVM_GUEST_DIR)/kvm_guest.c $(KVM_GUEST_DIR)/kvm_guest_code.S
KVM_GUEST_HDRS := $(KVM_GUEST_DIR)/kvm_guest.h
