# SPDX-License-Identifier: GPL-2.0
# vshmd suites: each starts its own broker (mmap region mode natively, kmod in
# the VM, where /dev/vshm exists) and talks to it as a VMM and as back-ends.
# broker_guest_test runs the reference VMM (build/out/tools/vshm-vmm) with
# its KVM guest in both modes; it needs /dev/kvm, so it skips natively.
BROKER_TESTS := broker/broker_demo_test broker/broker_rules_test \
	broker/broker_client_async_test broker/broker_vmm_test \
	broker/broker_forward_test broker/broker_lifecycle_test \
	broker/broker_hostile_test broker/broker_daemon_test \
	broker/broker_faults_test \
	broker/broker_shared_object_test broker/broker_guest_test \
	broker/broker_inspect_test broker/broker_gone_test \
	broker/broker_isolation_test broker/broker_log_test \
	broker/broker_socket_test broker/broker_restart_test \
	broker/broker_populate_test
NATIVE_TESTS += $(BROKER_TESTS)
VM_TESTS += $(BROKER_TESTS)
$(foreach t,$(BROKER_TESTS),$(eval $(t)_LDLIBS := $(LIBVSHM_A)))
$(foreach t,$(BROKER_TESTS),$(eval $(t)_DEPS := $(LIBVSHM_A)))
broker/broker_shared_object_test_CFLAGS := $(shell pkg-config --cflags libdrm)
broker/broker_shared_object_test_LDLIBS += $(shell pkg-config --libs libdrm)
broker/broker_hostile_test_CFLAGS := $(shell pkg-config --cflags libdrm)
broker/broker_hostile_test_LDLIBS += $(shell pkg-config --libs libdrm)
broker/broker_restart_test_CFLAGS := $(shell pkg-config --cflags libdrm)
broker/broker_restart_test_LDLIBS += $(shell pkg-config --libs libdrm)
broker/broker_inspect_test_CFLAGS := $(shell pkg-config --cflags libdrm json-c)
broker/broker_inspect_test_LDLIBS += $(shell pkg-config --libs libdrm json-c)
