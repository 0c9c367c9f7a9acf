# SPDX-License-Identifier: GPL-2.0
# Code shared by the selftests and userspace/tools, not part of libvshm.
#
# The support library: fd helpers (fd_util.h), the fork-based touch probe
# (touch_probe.h), build-tree paths (self_path.h) and /proc/PID/status
# numbers (proc_status.h), built once per output
# tree into $(COMMON_LIB).  A program adds -I$(COMMON_DIR) and links
# $(COMMON_LIB):
#
#   include $(TOP)/userspace/common/common.mk
#   prog: prog.c $(COMMON_LIB)
#   	$(CC) $(CFLAGS) -I$(COMMON_DIR) prog.c $(COMMON_LIB) -o $@
#
# The KVM guest helpers are compiled into each program that runs a guest:
#
#   prog: prog.c $(KVM_GUEST_SRCS) $(KVM_GUEST_HDRS)
#   	$(CC) $(CFLAGS) -I$(KVM_GUEST_DIR) prog.c $(KVM_GUEST_SRCS) -o $@
#
# kvm_guest_code.S is the guest's code, assembled into the program as data.

COMMON_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
COMMON_DIR := $(abspath $(COMMON_DIR))
COMMON_SRCS := $(COMMON_DIR)/fd_util.c $(COMMON_DIR)/touch_probe.c \
	$(COMMON_DIR)/self_path.c $(COMMON_DIR)/proc_status.c
COMMON_OBJS := $(patsubst $(COMMON_DIR)/%.c,$(OUT)/common/%.o,$(COMMON_SRCS))
COMMON_LIB := $(OUT)/common/libvshm-common.a

KVM_GUEST_DIR := $(COMMON_DIR)
KVM_GUEST_SRCS := $(KVM_GUEST_DIR)/kvm_guest.c $(KVM_GUEST_DIR)/kvm_guest_code.S
KVM_GUEST_HDRS := $(KVM_GUEST_DIR)/kvm_guest.h

$(COMMON_LIB): $(COMMON_OBJS)
	$(AR) rcs $@ $^

$(OUT)/common/%.o: $(COMMON_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

-include $(COMMON_OBJS:.o=.d)
