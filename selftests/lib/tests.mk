# SPDX-License-Identifier: GPL-2.0
# libvshm suites.  The region conformance and populate suites also run in
# the VM, where /dev/vshm exists and their kmod tests do not skip.
LIB_TESTS := lib/codec_test lib/chan_test lib/region_conformance_test \
	lib/region_populate_test \
	lib/helpers_test lib/frontend_test lib/deprecated_names_test
NATIVE_TESTS += $(LIB_TESTS)
VM_TESTS += lib/region_conformance_test lib/region_populate_test
$(foreach t,$(LIB_TESTS),$(eval $(t)_LDLIBS := $(LIBVSHM_A)))
$(foreach t,$(LIB_TESTS),$(eval $(t)_DEPS := $(LIBVSHM_A)))
