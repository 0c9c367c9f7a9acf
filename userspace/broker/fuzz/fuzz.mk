# SPDX-License-Identifier: GPL-2.0
# libFuzzer on vshmd's dispatch (fuzz/fuzz_dispatch.c), included by the
# broker's Makefile.  Built with clang, ASan and UBSan from the broker's
# sources (all but vshmd.c) and a clang build of libvshm.
#   make fuzz                        $(OUT)/fuzz/fuzz_dispatch
#   make fuzz-run [FUZZ_SECONDS=60]  build it and run it on the seed corpus

FUZZ_OUT := $(OUT)/fuzz
FUZZ_SRCS := fuzz/fuzz_dispatch.c $(filter-out vshmd.c,$(SRCS))
FUZZ_LIB := $(FUZZ_OUT)/lib/libvshm.a
FUZZ_BIN := $(FUZZ_OUT)/fuzz_dispatch

fuzz: $(FUZZ_BIN)

# libvshm with clang, the sanitizers and coverage for the fuzzer.
$(FUZZ_LIB): FORCE
	$(MAKE) -C $(TOP)/userspace/lib OUT=$(FUZZ_OUT) CC=clang SANITIZE=1 \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" $@

$(FUZZ_BIN): $(FUZZ_SRCS) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -I$(FUZZ_OUT)/include -MMD -MP $(FUZZ_SRCS) \
		$(FUZZ_LIB) -ludev -lcap -lsystemd -o $@

-include $(FUZZ_BIN).d

# The region mode maps at most 256 KiB per region; 4 devices.
fuzz-run: fuzz
	@mkdir -p $(OUT)/fuzz/dispatch-corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=80000 \
		-artifact_prefix=$(OUT)/fuzz/dispatch- -print_final_stats=1 \
		$(OUT)/fuzz/dispatch-corpus fuzz/corpus

.PHONY: fuzz fuzz-run FORCE
FORCE:
