# SPDX-License-Identifier: GPL-2.0
# Module selftests: run inside the VM with vshm.ko loaded ($VSHM_KO names it).
VM_TESTS += kmod/vshm_load_test
VM_TESTS += kmod/vshm_ioctl_test
VM_TESTS += kmod/vshm_perm_test
VM_TESTS += kmod/vshm_vmops_test
VM_TESTS += kmod/vshm_fault_test
VM_TESTS += kmod/vshm_copy_test
VM_TESTS += kmod/vshm_lifetime_test
VM_TESTS += kmod/vshm_replace_test
VM_TESTS += kmod/vshm_kvm_test
kmod/vshm_kvm_test_DEPS := $(KVM_GUEST_SRCS) $(KVM_GUEST_HDRS)
kmod/vshm_kvm_test_CFLAGS := -I$(KVM_GUEST_DIR)
kmod/vshm_kvm_test_LDLIBS := $(KVM_GUEST_SRCS)
VM_TESTS += kmod/vshm_hugetlb_test
VM_TESTS += kmod/vshm_pin_test
VM_TESTS += kmod/vshm_stress_test
VM_TESTS += kmod/vshm_dmabuf_test
kmod/vshm_dmabuf_test_CFLAGS := $(shell pkg-config --cflags libdrm)
kmod/vshm_dmabuf_test_LDLIBS := $(shell pkg-config --libs libdrm)
VM_TESTS += kmod/vshm_dmabuf_import_test
kmod/vshm_dmabuf_import_test_CFLAGS := $(shell pkg-config --cflags libdrm) -I$(CURDIR)/kmod-exporter
kmod/vshm_dmabuf_import_test_LDLIBS := $(shell pkg-config --libs libdrm)
kmod/vshm_dmabuf_import_test_DEPS := kmod-exporter/vshm_selftest_exporter.h
VM_TESTS += kmod/vshm_chaos_test
VM_TESTS += kmod/vshm_list_test
kmod/vshm_list_test_CFLAGS := $(shell pkg-config --cflags libdrm)
kmod/vshm_list_test_LDLIBS := $(shell pkg-config --libs libdrm)
